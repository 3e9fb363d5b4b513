/** What a LOG or NFLOG line says about one packet, in the kernel's own field names. */
export interface PacketFields {
  /** IP version: 4 or 6 (undefined when the line does not tell, as for an ARP line). */
  readonly family?: 4 | 6;
  readonly in?: string;
  readonly out?: string;
  /** Destination MAC, source MAC and ethertype, as LOG prints them (absent for local output). */
  readonly mac?: string;
  /** Source and destination addresses; IPv6 ones compressed (2001:db8:1::10), as lab files write them. */
  readonly src?: string;
  readonly dst?: string;
  readonly len?: number;
  readonly tos?: string;
  /** IPv4 only: an IPv6 packet's TTL is its hopLimit. */
  readonly ttl?: number;
  /** IPv4 only: the IP id. */
  readonly id?: number;
  /** TCP, UDP, UDPLITE, ICMP, ICMPv6, or the protocol number LOG printed for others. */
  readonly proto?: string;
  readonly spt?: number;
  readonly dpt?: number;
  /** TCP flags set (SYN, ACK, FIN, RST, PSH, URG, ECE, CWR). */
  readonly tcpFlags?: readonly string[];
  /** ICMP or ICMPv6 type and code. */
  readonly icmpType?: number;
  readonly icmpCode?: number;
  /** Echo request/reply id and sequence number (what ping prints as icmp_seq). */
  readonly icmpId?: number;
  readonly icmpSeq?: number;
  /** IPv6 only: hop limit, traffic class and flow label. */
  readonly hopLimit?: number;
  readonly trafficClass?: number;
  readonly flowLabel?: number;
  /** IPv6 only: the upper-layer protocol number after any extension headers (6, 17, 58, ...). */
  readonly nextHeader?: number;
  /** IPv6 only: the fragment header (offset in bytes; more: more fragments follow). */
  readonly fragment?: { readonly offset: number; readonly more: boolean; readonly id: number };
}
