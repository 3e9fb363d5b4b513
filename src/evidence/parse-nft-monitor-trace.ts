import { compressIpv6 } from "../util/ipv6.ts";
import type { TraceLine, TracePacket } from "./parse-trace.ts";

/**
 * One line of `nft monitor trace` (nftables 1.0): the packet a hook saw, or a rule or policy it
 * passed. fwlab reads traces with its own reader (parse-trace.ts); this reads what a user (or a
 * node without that reader) gets from nft itself, into the same shapes.
 */
export type NftMonitorTrace =
  | {
      readonly kind: "packet";
      readonly packetId: string;
      readonly family: string;
      readonly table: string;
      readonly chain: string;
      readonly packet: TracePacket;
    }
  | {
      readonly kind: "step";
      /** handle is 0 unless nft printed it (`nft -a monitor trace`). */
      readonly line: TraceLine;
      /** The rule as nft lists it (counters included), for a rule. */
      readonly ruleText?: string;
    };

const ICMP_TYPES: Record<string, number> = {
  "echo-reply": 0,
  "destination-unreachable": 3,
  "source-quench": 4,
  redirect: 5,
  "echo-request": 8,
  "router-advertisement": 9,
  "router-solicitation": 10,
  "time-exceeded": 11,
  "parameter-problem": 12,
  "timestamp-request": 13,
  "timestamp-reply": 14,
};
const ICMPV6_TYPES: Record<string, number> = {
  "destination-unreachable": 1,
  "packet-too-big": 2,
  "time-exceeded": 3,
  "parameter-problem": 4,
  "echo-request": 128,
  "echo-reply": 129,
  "mld-listener-query": 130,
  "mld-listener-report": 131,
  "mld-listener-done": 132,
  "nd-router-solicit": 133,
  "nd-router-advert": 134,
  "nd-neighbor-solicit": 135,
  "nd-neighbor-advert": 136,
  "nd-redirect": 137,
  "mld2-listener-report": 143,
};
// In bit order, as fwlab's reader lists them.
const TCP_FLAGS = ["FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"];

/**
 * Parses a line of `nft monitor trace`:
 *   `trace id a560452a ip6 f6 input packet: iif "lan" ether saddr 02:42:0a:00:01:0a ...
 *    ip6 saddr 2001:db8:1::10 ip6 daddr 2001:db8:1::1 ... ip6 hoplimit 64 ... tcp sport 48026
 *    tcp dport 2224 tcp flags == syn tcp window 64800`
 *   `trace id a560452a ip6 f6 input rule tcp dport 2224 counter packets 0 bytes 0 accept (verdict accept)`
 *   `trace id a560452a inet fi input policy accept`
 */
export function parseNftMonitorTrace(line: string): NftMonitorTrace | undefined {
  const m = /^trace id (\S+) (\S+) (\S+) (\S+) (packet:|rule|policy) (.*)$/.exec(line.trimEnd());
  if (!m) return undefined;
  const [, packetId = "", family = "", table = "", chain = "", what, rest = ""] = m;
  const at = { packetId, family, table, chain };
  if (what === "packet:") {
    const packet = packetOf(packetId, rest);
    return packet && { kind: "packet", ...at, packet };
  }
  if (what === "policy") {
    return {
      kind: "step",
      line: { ...at, what: "policy", verdict: rest.trim().toUpperCase(), handle: 0 },
    };
  }
  const r = /^(.*?)(?: # handle (\d+))? \(verdict ([^)]*)\)$/.exec(rest);
  if (!r) return undefined;
  return {
    kind: "step",
    line: {
      ...at,
      what: "rule",
      verdict: r[3]!.split(" ")[0]!.toUpperCase(),
      handle: r[2] ? Number(r[2]) : 0,
    },
    ruleText: r[1],
  };
}

function packetOf(packetId: string, text: string): TracePacket | undefined {
  const get = (re: RegExp) => re.exec(text)?.[1];
  const src = get(/\bip6? saddr (\S+)/);
  const dst = get(/\bip6? daddr (\S+)/);
  if (!src || !dst) return undefined;
  const l4 = /\b(tcp|udp) sport (\d+) \1 dport (\d+)/.exec(text);
  const proto = l4?.[1] === "tcp" || l4?.[1] === "udp" ? l4[1] : "other";
  const ttl = get(/\bip ttl (\d+)/) ?? get(/\bip6 hoplimit (\d+)/);
  const v6Type = get(/\bicmpv6 type (\S+)/);
  const v4Type = get(/\bicmp type (\S+)/);
  const icmpType =
    v6Type !== undefined
      ? (ICMPV6_TYPES[v6Type] ?? numeric(v6Type))
      : v4Type !== undefined
        ? (ICMP_TYPES[v4Type] ?? numeric(v4Type))
        : undefined;
  return {
    packetId,
    in: get(/\biif "([^"]*)"/),
    out: get(/\boif "([^"]*)"/),
    src: compressIpv6(src),
    dst: compressIpv6(dst),
    proto,
    sport: l4 ? Number(l4[2]) : undefined,
    dport: l4 ? Number(l4[3]) : undefined,
    flags: tcpFlags(get(/\btcp flags == (\S+)/)),
    ttl: ttl === undefined ? undefined : Number(ttl),
    icmpType,
  };
}

const numeric = (s: string) => (/^\d+$/.test(s) ? Number(s) : undefined);

/** `syn`, `syn|ack` or a bit mask (`0x12`) as flag names. */
function tcpFlags(v: string | undefined): string[] {
  if (!v) return [];
  if (/^0x[0-9a-f]+$/i.test(v)) {
    const bits = Number.parseInt(v, 16);
    return TCP_FLAGS.filter((_, i) => bits & (1 << i));
  }
  return v.split(/[|,]/).map((f) => f.toUpperCase());
}
