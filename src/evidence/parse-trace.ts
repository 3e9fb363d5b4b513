import { compressIpv6 } from "../util/ipv6.ts";

/** The packet a trace event carries (the first event at each hook), as that hook saw it. */
export interface TracePacket {
  readonly packetId: string;
  readonly in?: string;
  readonly out?: string;
  /** Addresses; IPv6 ones compressed (2001:db8:1::10), as lab files write them. */
  readonly src: string;
  readonly dst: string;
  /** "tcp" or "udp", else "other" (ICMP, ICMPv6 and the rest). */
  readonly proto: "tcp" | "udp" | "other";
  readonly sport?: number;
  readonly dport?: number;
  /** TCP flags (SYN, ACK, ...). */
  readonly flags: readonly string[];
  /** TTL, or an IPv6 packet's hop limit. */
  readonly ttl?: number;
  /** ICMP or ICMPv6 type. */
  readonly icmpType?: number;
  /** For an ICMP error (unreachable, time exceeded, ...): the protocol of the packet it quotes. */
  readonly about?: "tcp" | "udp" | "other";
}

/** What conntrack made of a traced packet where the event was taken (Linux 6.8+). */
export interface TraceConntrack {
  /** new, established, related, invalid or untracked (nft's `ct state` names). */
  readonly state: string;
  /** The packet's direction in its connection. */
  readonly dir?: "original" | "reply";
  /** NAT the connection is set up for (SNAT, DNAT). */
  readonly nat: readonly ("snat" | "dnat")[];
}

/** One trace event: a rule (or policy) a traced packet passed, from fwlab's `nftrace` reader. */
export interface TraceLine {
  readonly packetId: string;
  /** The table's family: ip, ip6, inet (either IP version), ... */
  readonly family: string;
  readonly table: string;
  readonly chain: string;
  /** "rule" for a rule, "policy" for the chain's policy, "return" at the end of a user chain. */
  readonly what: "rule" | "policy" | "return";
  /** ACCEPT, DROP, CONTINUE, JUMP, RETURN, ... (upper case, as iptables names them). */
  readonly verdict: string;
  /** The rule's nft handle (0 for a policy). */
  readonly handle: number;
  /** Present on the first event of a packet at each hook. */
  readonly packet?: TracePacket;
  /** Present once conntrack has seen the packet (after raw), on kernels that say it. */
  readonly ct?: TraceConntrack;
}

/**
 * Parses a line of images/common/usr/local/lib/fwlab/nftrace:
 *   `trace id=9c7f5818 type=rule table=filter chain=FORWARD handle=5 verdict=accept family=ip
 *    iif=lan oif=dmz src=10.0.1.10 dst=10.0.2.80 len=60 ttl=63 ipid=1 proto=tcp sport=61001
 *    dport=80 flags=SYN`
 * It writes IPv6 addresses fully expanded (src=2001:0db8:0001:0000:0000:0000:0000:0010);
 * they come out compressed, so packets key by the same addresses as lab files and conntrack.
 * Other lines (ready, lost) give undefined.
 */
export function parseTraceLine(line: string): TraceLine | undefined {
  if (!line.startsWith("trace ")) return undefined;
  const kv = new Map<string, string>();
  for (const w of line.slice(6).split(" ")) {
    const i = w.indexOf("=");
    if (i > 0) kv.set(w.slice(0, i), w.slice(i + 1));
  }
  const id = kv.get("id");
  const what = kv.get("type");
  if (!id || (what !== "rule" && what !== "policy" && what !== "return")) return undefined;
  const num = (k: string) => (kv.has(k) ? Number(kv.get(k)) : undefined);
  const addr = (k: string) => {
    const v = kv.get(k);
    return v ? compressIpv6(v) : undefined;
  };
  const src = addr("src");
  const dst = addr("dst");
  const proto = kv.get("proto");
  const ct = kv.get("ct");
  const dir = kv.get("ctdir");
  return {
    ct: ct
      ? {
          state: ct,
          dir: dir === "original" || dir === "reply" ? dir : undefined,
          nat: (kv.get("ctnat")?.split(",") ?? []).filter(
            (n): n is "snat" | "dnat" => n === "snat" || n === "dnat",
          ),
        }
      : undefined,
    packetId: id,
    family: kv.get("family") ?? "ip",
    table: kv.get("table") ?? "",
    chain: kv.get("chain") ?? "",
    what,
    verdict: (kv.get("verdict") || (what === "return" ? "return" : "continue")).split(":")[0]!.toUpperCase(),
    handle: num("handle") ?? 0,
    packet:
      src && dst
        ? {
            packetId: id,
            in: kv.get("iif"),
            out: kv.get("oif"),
            src,
            dst,
            proto: protoOf(proto) ?? "other",
            sport: num("sport"),
            dport: num("dport"),
            flags: kv.get("flags")?.split(",") ?? [],
            ttl: num("ttl"),
            icmpType: num("icmptype"),
            about: protoOf(kv.get("about")),
          }
        : undefined,
  };
}

const protoOf = (p: string | undefined): TracePacket["about"] =>
  p === undefined ? undefined : p === "tcp" || p === "udp" ? p : "other";
