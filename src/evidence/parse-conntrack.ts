/** One direction of a connection as conntrack prints it. */
export interface ConntrackTuple {
  readonly src: string;
  readonly dst: string;
  readonly sport?: number;
  readonly dport?: number;
  /** ICMP type, code and id. */
  readonly type?: number;
  readonly code?: number;
  readonly id?: number;
}

export interface ConntrackEntry {
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
 */
export function parseConntrackEntry(line: string): ConntrackEntry | undefined {
  const words = line.trim().split(/\s+/);
  let i = 0;
  if (words[0] === "ipv4" || words[0] === "ipv6") i = 2; // -o extended: l3 name and number
  const proto = words[i];
  if (!proto || !/^\d+$/.test(words[i + 1] ?? "")) return undefined;
  i += 2;
  let timeout: number | undefined;
  if (/^\d+$/.test(words[i] ?? "")) timeout = Number(words[i++]);
  let state: string | undefined;
  if (words[i] && /^[A-Z_]+$/.test(words[i]!)) state = words[i++];

  // ICMP tuples hold an id=, which conntrack's own id= (with -o id) must not be taken for.
  const tupleKeys = proto === "icmp" ? ICMP_KEYS : PORT_KEYS;
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
    src: t.src ?? "",
    dst: t.dst ?? "",
    sport: n("sport"),
    dport: n("dport"),
    type: n("type"),
    code: n("code"),
    id: n("id"),
  };
}
