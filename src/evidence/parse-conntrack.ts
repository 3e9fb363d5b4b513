import { compressIpv6, isIpv6 } from "../util/ipv6.ts";

/** One direction of a connection as conntrack prints it. */
export interface ConntrackTuple {
  /** Addresses; IPv6 ones compressed (2001:db8:1::10). */
  readonly src: string;
  readonly dst: string;
  readonly sport?: number;
  readonly dport?: number;
  /** ICMP (or ICMPv6) type, code and id. */
  readonly type?: number;
  readonly code?: number;
  readonly id?: number;
}

export interface ConntrackEntry {
  /** IP version (ipv4/ipv6 in `-o extended`, else told by the addresses). */
  readonly family?: 4 | 6;
  /** tcp, udp, icmp, icmpv6, ... */
  readonly proto: string;
  /** TCP state (SYN_SENT, ESTABLISHED, TIME_WAIT, ...); undefined for protocols without one. */
  readonly state?: string;
  /** Seconds left before the entry expires (absent in DESTROY events). */
  readonly timeout?: number;
  readonly original: ConntrackTuple;
  readonly reply: ConntrackTuple;
  readonly assured: boolean;
  readonly unreplied: boolean;
  readonly mark?: number;
  readonly zone?: number;
  readonly helper?: string;
  /** Conntrack's own id (with `-o id`): follows one connection through its events. */
  readonly ctId?: number;
  /** What NAT did, from the tuples: SNAT when the reply goes elsewhere than the original source. */
  readonly nat: { readonly snat: boolean; readonly dnat: boolean };
}

export type ConntrackEventType = "NEW" | "UPDATE" | "DESTROY";

const PORT_KEYS = new Set(["src", "dst", "sport", "dport"]);
const ICMP_KEYS = new Set(["src", "dst", "type", "code", "id"]);

/**
 * Parses a `conntrack -L` line (with or without `-o extended,id`):
 *   `ipv4 2 tcp 6 431999 ESTABLISHED src=10.0.1.10 dst=10.0.2.22 sport=41234 dport=22
 *    src=10.0.2.22 dst=10.0.1.10 sport=22 dport=41234 [ASSURED] mark=0 use=1 id=1158571224`
 *   `ipv6 10 icmpv6 58 28 src=2001:db8:1::10 dst=2001:db8:1::1 type=128 code=0 id=128
 *    src=2001:db8:1::1 dst=2001:db8:1::10 type=129 code=0 id=128 mark=0 use=1 id=1411887091`
 */
export function parseConntrackEntry(line: string): ConntrackEntry | undefined {
  const words = line.trim().split(/\s+/);
  let i = 0;
  const l3 = words[0] === "ipv4" ? 4 : words[0] === "ipv6" ? 6 : undefined;
  if (l3) i = 2; // -o extended: l3 name and number
  const proto = words[i];
  if (!proto || !/^\d+$/.test(words[i + 1] ?? "")) return undefined;
  i += 2;
  let timeout: number | undefined;
  if (/^\d+$/.test(words[i] ?? "")) timeout = Number(words[i++]);
  let state: string | undefined;
  if (words[i] && /^[A-Z_]+$/.test(words[i]!)) state = words[i++];

  // ICMP tuples hold an id=, which conntrack's own id= (with -o id) must not be taken for.
  const tupleKeys = proto === "icmp" || proto === "icmpv6" ? ICMP_KEYS : PORT_KEYS;
  const tuples: Record<string, string>[] = [];
  const extra: Record<string, string> = {};
  const flags = new Set<string>();
  let current: Record<string, string> | undefined;
  for (; i < words.length; i++) {
    const w = words[i]!;
    if (w.startsWith("[") && w.endsWith("]")) {
      flags.add(w.slice(1, -1));
      current = undefined;
      continue;
    }
    const eq = w.indexOf("=");
    if (eq < 0) continue;
    const k = w.slice(0, eq);
    const v = w.slice(eq + 1);
    if (k === "src" && tuples.length < 2) {
      current = {};
      tuples.push(current);
    }
    // A key a tuple already has (ICMP's id= then conntrack's id=) ends the tuple.
    if (current && tupleKeys.has(k) && !(k in current)) current[k] = v;
    else {
      current = undefined;
      extra[k] = v;
    }
  }
  if (tuples.length < 2) return undefined;
  const original = tuple(tuples[0]!);
  const reply = tuple(tuples[1]!);
  const num = (k: string) => (extra[k] === undefined ? undefined : Number(extra[k]));
  return {
    family: l3 ?? (isIpv6(original.src) ? 6 : original.src ? 4 : undefined),
    proto,
    state,
    timeout,
    original,
    reply,
    assured: flags.has("ASSURED"),
    unreplied: flags.has("UNREPLIED"),
    mark: num("mark"),
    zone: num("zone"),
    helper: extra.helper,
    ctId: num("id"),
    nat: { snat: reply.dst !== original.src, dnat: reply.src !== original.dst },
  };
}

function tuple(t: Record<string, string>): ConntrackTuple {
  const n = (k: string) => (t[k] === undefined ? undefined : Number(t[k]));
  return {
    src: compressIpv6(t.src ?? ""),
    dst: compressIpv6(t.dst ?? ""),
    sport: n("sport"),
    dport: n("dport"),
    type: n("type"),
    code: n("code"),
    id: n("id"),
  };
}

/** A `conntrack -E` line: its event type, entry and (with `-o timestamp`) time. */
export interface ConntrackEventLine {
  readonly type: ConntrackEventType;
  readonly entry: ConntrackEntry;
  /** With `-o timestamp`: when conntrack read the event, ms since the epoch. */
  readonly timeMs?: number;
}

/**
 * Parses a `conntrack -E` line (any of `-o timestamp,extended,id`):
 *   `[1796069048.061378]	    [NEW] ipv6     10 tcp      6 120 SYN_SENT src=2001:db8:1::1 ...`
 *   ` [UPDATE] tcp      6 60 SYN_RECV src=10.0.1.10 ...`
 */
export function parseConntrackEvent(line: string): ConntrackEventLine | undefined {
  const m = /^\s*(?:\[(\d+\.\d+)\]\s*)?\[(NEW|UPDATE|DESTROY)\]\s+(.*)$/.exec(line);
  const entry = m && parseConntrackEntry(m[3]!);
  if (!m || !entry) return undefined;
  return { type: m[2] as ConntrackEventType, entry, timeMs: m[1] ? Number(m[1]) * 1000 : undefined };
}
