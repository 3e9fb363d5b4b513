import type { LabNode } from "../lab/lab-node.ts";
import { macFor } from "../topology/mac-for.ts";
import type { Origin } from "./events.ts";
import type { PacketFields } from "./packet-fields.ts";

interface Owner extends Origin {
  readonly network: string;
}

/**
 * Which lab and node an address or MAC belongs to. The host's kernel log has no namespace tag,
 * so a LOG line is attributed by what it carries: the MAC of the receiving interface (the node
 * that logged it received the frame there) or, for locally sent packets (no MAC), the node that
 * owns the source address on the OUT interface. Lab subnets never overlap, so this is exact.
 */
export class AddressBook {
  private readonly byIp = new Map<string, Owner>();
  private readonly byMac = new Map<string, Owner>();

  constructor(labs: ReadonlyMap<string, readonly LabNode[]>) {
    for (const [lab, nodes] of labs) {
      for (const n of nodes) {
        for (const [network, ip] of Object.entries(n.addresses)) {
          const owner = { lab, node: n.name, network };
          this.byIp.set(ip, owner);
          this.byMac.set(macFor(ip), owner);
        }
      }
    }
  }

  get size(): number {
    return this.byIp.size;
  }

  owner(ip: string): Owner | undefined {
    return this.byIp.get(ip);
  }

  attribute(f: PacketFields): Origin | undefined {
    if (f.mac && f.in) {
      const dstMac = f.mac.slice(0, 17).toLowerCase();
      const byMac = this.byMac.get(dstMac);
      if (byMac && byMac.network === f.in) return { lab: byMac.lab, node: byMac.node };
    }
    if (!f.in && f.out && f.src) {
      const bySrc = this.byIp.get(f.src);
      if (bySrc) return { lab: bySrc.lab, node: bySrc.node };
    }
    // A broadcast or a frame to another MAC (promiscuous): the receiving node is the one on
    // the IN network that owns the destination address.
    if (f.in && f.dst) {
      const byDst = this.byIp.get(f.dst);
      if (byDst && byDst.network === f.in) return { lab: byDst.lab, node: byDst.node };
    }
    return undefined;
  }
}
