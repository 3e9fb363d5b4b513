import { type Cidr, formatIpv4, parseCidr, parseIpv4 } from "./ipv4.ts";

/**
 * Where Docker may take addresses of its own on a lab's overlay network: a swarm gives every
 * node that joins an overlay an endpoint address, and the network a gateway (the address of the
 * bridge in the overlay's own namespace, which answers ARP and ping). Left to Docker they take
 * the lowest free addresses, which a lab's firewall usually holds (.1). So they get the highest
 * aligned block of the subnet that holds no lab address: `--ip-range` and `--gateway` in it.
 * Undefined when no block fits (a /30, say): such a network cannot span hosts.
 */
export function overlayReservation(
  subnet: string,
  labAddresses: readonly string[],
  hosts: number,
): { ipRange: string; gateway: string } | undefined {
  const c = parseCidr(subnet);
  if (!c) return undefined;
  const taken = new Set(labAddresses.map((a) => parseIpv4(a)));
  const size = 2 ** (32 - c.prefix);
  const broadcast = c.network + size - 1;
  // Docker needs one address per host and one for the gateway; a little room for a host that
  // joins later (a second lab on a fourth engine).
  const need = hosts + 2;
  for (const block of [16, 8, 4]) {
    if (block > size) continue;
    for (let start = c.network + size - block; start >= c.network; start -= block) {
      const usable = range(start, block).filter((ip) => !edge(c, ip, broadcast));
      if (usable.length < need || range(start, block).some((ip) => taken.has(ip))) continue;
      return {
        ipRange: `${formatIpv4(start)}/${32 - Math.log2(block)}`,
        gateway: formatIpv4(usable.at(-1)!),
      };
    }
  }
  return undefined;
}

const range = (start: number, n: number): number[] => Array.from({ length: n }, (_, i) => start + i);
const edge = (c: Cidr, ip: number, broadcast: number): boolean => ip === c.network || ip === broadcast;
