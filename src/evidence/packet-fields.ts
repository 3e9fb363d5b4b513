/** What a LOG or NFLOG line says about one packet, in the kernel's own field names. */
export interface PacketFields {
  readonly in?: string;
  readonly out?: string;
  /** Destination MAC, source MAC and ethertype, as LOG prints them (absent for local output). */
  readonly mac?: string;
  readonly src?: string;
  readonly dst?: string;
  readonly len?: number;
  readonly tos?: string;
  readonly ttl?: number;
  readonly id?: number;
  readonly proto?: string;
  readonly spt?: number;
  readonly dpt?: number;
  /** TCP flags set (SYN, ACK, FIN, RST, PSH, URG, ECE, CWR). */
  readonly tcpFlags?: readonly string[];
  readonly icmpType?: number;
  readonly icmpCode?: number;
  /** Echo request/reply id and sequence number (what ping prints as icmp_seq). */
  readonly icmpId?: number;
  readonly icmpSeq?: number;
}
