import type { LabNode } from "../lab/lab-node.ts";
import { macFor } from "../topology/mac-for.ts";
import { compressIpv6 } from "../util/ipv6.ts";
import type { Origin } from "./events.ts";
import type { PacketFields } from "./packet-fields.ts";

/** What the book keys by: a node's name and its addresses by network (a LabNode has them). */
export type AddressHolder = Pick<LabNode, "name" | "addresses"> &
  Partial<Pick<LabNode, "addresses6" | "ifnames">>;

interface Owner extends Origin {
  readonly network: string;
  /** The node's interface on that network, as a LOG line's IN= and OUT= name it. */
  readonly iface: string;
}

/**
 * Which lab and node an address or MAC belongs to. The host's kernel log has no namespace tag,
 * so a LOG line is attributed by what it carries: the MAC of the receiving interface (the node
 * that logged it received the frame there) or, for locally sent packets (no MAC), the node that
 * owns the source address on the OUT interface. Lab subnets never overlap, so this is exact.
 * IPv6 addresses are keyed compressed (2001:db8:1::10), the form every parser gives them in; an
 * interface's MAC comes from its IPv4 address (macFor), so IPv6 frames are told by it as well.
 */
export class AddressBook {
  private readonly byIp = new Map<string, Owner>();
  private readonly byMac = new Map<string, Owner>();

  constructor(labs: ReadonlyMap<string, readonly AddressHolder[]>) {
    for (const [lab, nodes] of labs) {
      for (const n of nodes) {
        const iface = (network: string) => n.ifnames?.[network] ?? network;
        for (const [network, ip] of Object.entries(n.addresses)) {
          const owner = { lab, node: n.name, network, iface: iface(network) };
          this.byIp.set(ip, owner);
          this.byMac.set(macFor(ip), owner);
        }
        for (const [network, ip] of Object.entries(n.addresses6 ?? {}))
          this.byIp.set(compressIpv6(ip), { lab, node: n.name, network, iface: iface(network) });
      }
    }
  }

  get size(): number {
    return this.byIp.size;
  }

  owner(ip: string): Owner | undefined {
    return this.byIp.get(compressIpv6(ip));
  }

  attribute(f: PacketFields): Origin | undefined {
    if (f.mac && f.in) {
      const dstMac = f.mac.slice(0, 17).toLowerCase();
      const byMac = this.byMac.get(dstMac);
      if (byMac && byMac.iface === f.in) return { lab: byMac.lab, node: byMac.node };
    }
    if (!f.in && f.out && f.src) {
      const bySrc = this.owner(f.src);
      if (bySrc) return { lab: bySrc.lab, node: bySrc.node };
    }
    // A broadcast or a frame to another MAC (promiscuous): the receiving node is the one on
    // the IN network that owns the destination address.
    if (f.in && f.dst) {
      const byDst = this.owner(f.dst);
      if (byDst && byDst.iface === f.in) return { lab: byDst.lab, node: byDst.node };
    }
    return undefined;
  }
}
