import type { CounterDelta } from "../evidence/counters.ts";

const FINAL = /-j (ACCEPT|DROP|REJECT)\b/;
const JUMP = /-j ([^\s"]+)/;
/** A rule for a connection's later packets only: its states are ESTABLISHED and RELATED. */
const LATER_PACKETS = /--(?:ct)?state (?:ESTABLISHED|RELATED)(?:,(?:ESTABLISHED|RELATED))*(?:\s|$)/;

/** What the probe met: its traffic `through` (ok), `stopped` (timeout, refused, unreachable). */
export type Outcome = "through" | "stopped";
const WANTED: Record<Outcome, ReadonlySet<string>> = {
  through: new Set(["ACCEPT"]),
  stopped: new Set(["DROP", "REJECT"]),
};
const ANY = new Set(["ACCEPT", "DROP", "REJECT"]);

/**
 * Which rule decided a packet, from the counters that moved during the step, walked as the
 * packet walks: a built-in filter chain's rules in order, into the user chains they jump to
 * (ufw's, a LOGDROP, rc.firewall's per-direction chains) and back on a RETURN or at their end,
 * then its policy; e.g. "accepted by fw filter ufw-user-limit-accept rule 1". Looking at the
 * built-in chains alone named OUTPUT's policy (the answer's way out) for every ruleset whose
 * INPUT only jumps. Given what the probe met, a rule of that kind is named first: a connection
 * whose first packet was let in and whose answer was dropped (FORWARD with no way back, a zone
 * pair without ESTABLISHED) is explained by the drop, not by the rule that let the packet in.
 */
export function decidingRule(
  deltas: Readonly<Record<string, readonly CounterDelta[]>>,
  outcome?: Outcome,
): string | undefined {
  return (outcome && decided(deltas, WANTED[outcome])) ?? decided(deltas, ANY);
}

function decided(
  deltas: Readonly<Record<string, readonly CounterDelta[]>>,
  wanted: ReadonlySet<string>,
): string | undefined {
  for (const [node, list] of Object.entries(deltas)) {
    const moved = list.filter((d) => d.table === "filter" && d.packets > 0);
    for (const chain of ["INPUT", "FORWARD", "OUTPUT"]) {
      // A connection's first packet is what a rule lets in or keeps out: the rules for the
      // packets after it (ESTABLISHED, RELATED) count only when nothing else decided.
      const found =
        walk(moved, chain, new Set(), true, wanted) ?? walk(moved, chain, new Set(), false, wanted);
      if (found) return `${found.verb} by ${node} filter ${found.where}`;
      const policy = moved.find((d) => d.chain === chain && d.rule === undefined)?.spec.split(" ")[1];
      if ((policy === "ACCEPT" || policy === "DROP") && wanted.has(policy))
        return `${verbOf(policy)} by ${node} filter ${chain} policy ${policy}`;
    }
  }
  return undefined;
}

/** The first rule with a wanted final target a packet reached in `chain`, following jumps. */
function walk(
  moved: readonly CounterDelta[],
  chain: string,
  seen: Set<string>,
  firstPacket: boolean,
  wanted: ReadonlySet<string>,
): { verb: string; where: string } | undefined {
  if (seen.has(chain)) return undefined; // a loop the kernel would refuse anyway
  seen.add(chain);
  const rules = moved
    .filter((d) => d.chain === chain && d.rule !== undefined)
    .sort((a, b) => a.rule! - b.rule!);
  for (const r of rules) {
    const final = FINAL.exec(r.spec)?.[1];
    if (final && (!wanted.has(final) || (firstPacket && LATER_PACKETS.test(r.spec)))) continue;
    if (final)
      return {
        verb: verbOf(final),
        where: `${chain} rule ${r.rule}${r.comment ? ` ("${r.comment}")` : ""}`,
      };
    const target = JUMP.exec(r.spec)?.[1];
    if (target && moved.some((d) => d.chain === target)) {
      const inner = walk(moved, target, seen, firstPacket, wanted);
      if (inner) return inner;
    }
  }
  return undefined;
}

const verbOf = (target: string): string =>
  target === "ACCEPT" ? "accepted" : target === "DROP" ? "dropped" : "rejected";
