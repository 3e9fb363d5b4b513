/** One line of `xtables-monitor --trace`: a rule (or policy) a traced packet passed. */
export interface TraceLine {
  readonly packetId: string;
  readonly table: string;
  readonly chain: string;
  /** "rule" for a rule, "policy" for the chain's policy, "return" at the end of a user chain. */
  readonly what: "rule" | "policy" | "return";
  readonly verdict: string;
  /** The rule as iptables-save prints it, after `-A CHAIN` ("" for a policy). */
  readonly spec: string;
}

/**
 * Parses ` TRACE: 2 9c7f5818 filter:FORWARD:rule:0x5:ACCEPT  -4 -t filter -A FORWARD -p icmp -j ACCEPT`
 * and ` TRACE: 2 7ea56cf6 filter:FORWARD:policy:DROP`. PACKET lines and others give undefined.
 * The 0x5 is nft's rule handle, not the rule's number: callers number rules from the ruleset.
 */
export function parseTraceLine(line: string): TraceLine | undefined {
  const m =
    /^\s*TRACE: \d+ ([0-9a-f]+) (\w+):([^:\s]+):(rule|policy|return)(?::0x[0-9a-f]+)?(?::(\w+))?\s*(.*)$/.exec(
      line,
    );
  if (!m) return undefined;
  const spec = (m[6] ?? "")
    .replace(/^-4\s+/, "")
    .replace(/^-t \w+ /, "")
    .replace(/^-A \S+ ?/, "")
    .trim();
  return {
    packetId: m[1]!,
    table: m[2]!,
    chain: m[3]!,
    what: m[4] as TraceLine["what"],
    verdict: m[5] ?? (m[4] === "return" ? "RETURN" : "CONTINUE"),
    spec,
  };
}

/** The packet of a `PACKET:` line of `xtables-monitor --trace`, as the hook saw it. */
export interface TracePacket {
  readonly packetId: string;
  readonly in?: string;
  readonly out?: string;
  readonly src: string;
  readonly dst: string;
  /** "tcp" or "udp" when the line has ports, else "other" (ICMP prints no type or id). */
  readonly proto: "tcp" | "udp" | "other";
  readonly sport?: number;
  readonly dport?: number;
  /** TCP flags (SYN, ACK, ...). */
  readonly flags: readonly string[];
}

const TCP_FLAGS = new Set(["SYN", "ACK", "FIN", "RST", "PSH", "URG", "ECE", "CWR"]);

/**
 * Parses `PACKET: 2 f4a34d92 IN=lan OUT=dmz MACSRC=... SRC=10.0.1.10 DST=10.0.2.80 LEN=60 ...
 * SPORT=49960 DPORT=81 SYN`. TCP is told from UDP by its flags (UDP lines have ports, no flags).
 */
export function parseTracePacket(line: string): TracePacket | undefined {
  const m = /^PACKET: \d+ ([0-9a-f]+) (.*)$/.exec(line.trim());
  if (!m) return undefined;
  const words = m[2]!.split(/\s+/);
  const kv = new Map<string, string>();
  for (const w of words) {
    const i = w.indexOf("=");
    if (i > 0) kv.set(w.slice(0, i), w.slice(i + 1));
  }
  const src = kv.get("SRC");
  const dst = kv.get("DST");
  if (!src || !dst) return undefined;
  const flags = words.filter((w) => TCP_FLAGS.has(w));
  const sport = kv.has("SPORT") ? Number(kv.get("SPORT")) : undefined;
  return {
    packetId: m[1]!,
    in: kv.get("IN") || undefined,
    out: kv.get("OUT") || undefined,
    src,
    dst,
    proto: sport === undefined ? "other" : flags.length ? "tcp" : "udp",
    sport,
    dport: kv.has("DPORT") ? Number(kv.get("DPORT")) : undefined,
    flags,
  };
}
