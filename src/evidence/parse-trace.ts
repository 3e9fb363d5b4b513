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
