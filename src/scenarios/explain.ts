import type { CounterDelta } from "../evidence/counters.ts";

/** How a rule's text says its verdict and its jumps: iptables-save's `-j`, nft's statements. */
interface Syntax {
  final(spec: string): string | undefined;
  jump(spec: string): string | undefined;
  /** A rule for a connection's later packets only: its states are ESTABLISHED and RELATED. */
  laterPackets(spec: string): boolean;
}

const IPTABLES: Syntax = {
  final: (spec) => /-j (ACCEPT|DROP|REJECT)\b/.exec(spec)?.[1],
  jump: (spec) => /-j ([^\s"]+)/.exec(spec)?.[1],
  laterPackets: (spec) =>
    /--(?:ct)?state (?:ESTABLISHED|RELATED)(?:,(?:ESTABLISHED|RELATED))*(?:\s|$)/.test(spec),
};

/** nft's words outside quoted strings (a log prefix may say "drop"). */
export const bare = (spec: string): string => spec.replace(/"(?:[^"\\]|\\.)*"/g, '""');
const NFT: Syntax = {
  final: (spec) => /(?:^|\s)(accept|drop|reject)(?:\s|$)/.exec(bare(spec))?.[1]?.toUpperCase(),
  jump: (spec) => /(?:^|\s)(?:jump|goto) (\S+)/.exec(bare(spec))?.[1],
  laterPackets: (spec) =>
    /ct state \{? ?(?:established|related)(?: ?, ?(?:established|related))* ?\}? /.test(bare(spec)),
};

/** What the probe met: its traffic `through` (ok), `stopped` (timeout, refused, unreachable). */
export type Outcome = "through" | "stopped";
const WANTED: Record<Outcome, ReadonlySet<string>> = {
  through: new Set(["ACCEPT"]),
  stopped: new Set(["DROP", "REJECT"]),
};
const ANY = new Set(["ACCEPT", "DROP", "REJECT"]);
/** The filter hooks a packet to or through or from the node meets, in that order. */
const HOOKS = ["input", "forward", "output"];

/**
 * Which rule decided a packet, from the counters that moved during the step, walked as the
 * packet walks: a built-in filter chain's rules in order, into the user chains they jump to
 * (ufw's, a LOGDROP, rc.firewall's per-direction chains) and back on a RETURN or at their end,
 * then its policy; e.g. "accepted by fw filter ufw-user-limit-accept rule 1". Looking at the
 * built-in chains alone named OUTPUT's policy (the answer's way out) for every ruleset whose
 * INPUT only jumps. Given what the probe met, a rule of that kind is named first: a connection
 * whose first packet was let in and whose answer was dropped (FORWARD with no way back, a zone
 * pair without ESTABLISHED) is explained by the drop, not by the rule that let the packet in.
 * An nft ruleset is walked from its filter chains on the input, forward and output hooks, through
 * its rules that count (`counter`): nft keeps no count of the others, nor of a chain's policy.
 */
export function decidingRule(
  deltas: Readonly<Record<string, readonly CounterDelta[]>>,
  outcome?: Outcome,
): string | undefined {
  return (outcome && decided(deltas, WANTED[outcome])) ?? decided(deltas, ANY);
}

/** The rule of the kind the probe met, if the counters name one (no other kind instead). */
export const ruleOfKind = (
  deltas: Readonly<Record<string, readonly CounterDelta[]>>,
  outcome: Outcome,
): string | undefined => decided(deltas, WANTED[outcome]);

function decided(
  deltas: Readonly<Record<string, readonly CounterDelta[]>>,
  wanted: ReadonlySet<string>,
): string | undefined {
  for (const [node, list] of Object.entries(deltas)) {
    const moved = list.filter((d) => d.packets > 0);
    // iptables' built-in filter chains; an nft ruleset's filter chains on those hooks.
    const nftEntries = HOOKS.flatMap((hook) => [
      ...new Map(
        moved
          .filter((d) => d.hook === hook)
          .map((d) => [`${d.table} ${d.chain}`, { table: d.table, chain: d.chain, syntax: NFT }]),
      ).values(),
    ]);
    const entries = [
      ...["INPUT", "FORWARD", "OUTPUT"].map((chain) => ({ table: "filter", chain, syntax: IPTABLES })),
      ...nftEntries,
    ];
    for (const { table, chain, syntax } of entries) {
      const mine = moved.filter((d) => d.table === table && (d.nftFamily !== undefined) === (syntax === NFT));
      // A connection's first packet is what a rule lets in or keeps out: the rules for the
      // packets after it (ESTABLISHED, RELATED) count only when nothing else decided.
      const found =
        walk(mine, syntax, chain, new Set(), true, wanted) ??
        walk(mine, syntax, chain, new Set(), false, wanted);
      if (found) return `${found.verb} by ${node} ${table} ${found.where}`;
      const policy = mine.find((d) => d.chain === chain && d.rule === undefined)?.spec.split(" ")[1];
      if ((policy === "ACCEPT" || policy === "DROP") && wanted.has(policy))
        return `${verbOf(policy)} by ${node} ${table} ${chain} policy ${policy}`;
      // nft counts no policy: rules of a hooked chain that moved and decided nothing let the
      // packet fall through to it (as far as the rules that count can tell).
      const hookPolicy = mine.find((d) => d.chain === chain && d.hookPolicy)?.hookPolicy;
      if (hookPolicy && wanted.has(hookPolicy.toUpperCase()))
        return `${verbOf(hookPolicy.toUpperCase())} by ${node} ${table} ${chain} policy ${hookPolicy}`;
    }
  }
  return undefined;
}

/** The first rule with a wanted final verdict a packet reached in `chain`, following jumps. */
function walk(
  moved: readonly CounterDelta[],
  syntax: Syntax,
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
    const final = syntax.final(r.spec);
    if (final && (!wanted.has(final) || (firstPacket && syntax.laterPackets(r.spec)))) continue;
    if (final)
      return {
        verb: verbOf(final),
        where: `${chain} rule ${r.rule}${r.comment ? ` ("${r.comment}")` : ""}`,
      };
    const target = syntax.jump(r.spec);
    if (target && moved.some((d) => d.chain === target)) {
      const inner = walk(moved, syntax, target, seen, firstPacket, wanted);
      if (inner) return inner;
    }
  }
  return undefined;
}

const verbOf = (target: string): string =>
  target === "ACCEPT" ? "accepted" : target === "DROP" ? "dropped" : "rejected";
