import type { TraceEvent } from "../evidence/events.ts";
import { bare, type Outcome } from "./explain.ts";

/** The hooks where a packet is let in, through or out; nat's rules at the others accept too. */
const FILTER_HOOKS = new Set(["INPUT", "FORWARD", "OUTPUT"]);

const NOT_FILTERING = new Set(["nat", "mangle", "raw", "security"]);

/** The last rule that accepted, else the last policy that did. */
const lastAccept = (accepts: readonly TraceEvent[]): TraceEvent | undefined =>
  [...accepts].reverse().find((e) => e.rule !== undefined) ?? accepts.at(-1);

/** A rule's comment, as iptables-save (`-m comment --comment "x"`) or nft (`comment "x"`) writes it. */
function commentOf(text: string): string | undefined {
  const m = /(?:^|\s)(?:--comment|comment) (?:"((?:[^"\\]|\\.)*)"|(\S+))/.exec(text);
  return m ? (m[1] ?? m[2])?.replace(/\\(.)/g, "$1") : undefined;
}

/** "fw4 accept_to_wan rule 2 ("!fw4: ...")", "filter FORWARD policy DROP". */
function where(e: TraceEvent): string {
  if (e.rule === undefined) return `${e.table} ${e.chain} ${e.ruleText}`;
  const comment = commentOf(e.ruleText);
  return `${e.table} ${e.chain} rule ${e.rule}${comment ? ` ("${comment}")` : ""}`;
}

const rejects = (e: TraceEvent): boolean =>
  e.rule !== undefined &&
  (/\s-j REJECT\b/.test(e.ruleText) || /(?:^|\s)reject(?:\s|$)/.test(bare(e.ruleText)));

/**
 * Which rule decided the probe's own packets, from the firewalls' trace of them: exact where the
 * counters only narrow it down (they count every packet of the step, other steps' beside it
 * too, and nft counts only the rules with a `counter` statement, none of its policies or
 * verdict maps: an OpenWrt fw4 ruleset's `ct state vmap`, `jump`s and `reject` count nothing).
 * For a probe that was `stopped`, the rule that dropped or rejected one of its packets (its
 * answer's too: a connection let in whose answer was dropped is explained by the drop), or
 * queued one to a program (NFQUEUE) that never gave it back. For one
 * that got `through`, the rule that accepted its first packet on each firewall it crossed, at
 * the filter hooks (the last accept there: a later chain could still have dropped it). Nothing
 * when the trace does not name one (a ruleset of the legacy backend, which nft cannot trace).
 */
export function tracedRule(trace: readonly TraceEvent[], to: string, outcome: Outcome): string | undefined {
  const rules = trace.filter((e) => e.passed === undefined);
  if (outcome === "stopped") {
    const stop = rules.find((e) => e.verdict === "DROP");
    if (stop) return `${rejects(stop) ? "rejected" : "dropped"} by ${stop.node} ${where(stop)}`;
    // Handed to a program (an IPS such as Suricata inline) and never seen again on that node.
    const queued = rules.find(
      (e, i) =>
        e.verdict === "QUEUE" &&
        !rules.slice(i + 1).some((l) => l.node === e.node && l.packetId === e.packetId && !l.start),
    );
    return (
      queued &&
      `queued by ${queued.node} ${where(queued)} to a program, which did not give it back (a queue no program reads drops what it gets, unless the rule says bypass)`
    );
  }
  const said: string[] = [];
  for (const node of new Set(rules.map((e) => e.node))) {
    const first = rules.findIndex((e) => e.node === node && e.packet?.dst === to);
    const opening = rules[first];
    if (!opening) continue;
    // That packet's events on that node: its id until the node reuses it for another packet.
    const walk: TraceEvent[] = [];
    for (const e of rules.slice(first)) {
      if (e.node !== node || e.packetId !== opening.packetId) continue;
      if (e.start && walk.length > 0) break;
      walk.push(e);
    }
    const accepts = walk.filter(
      (e) => e.verdict === "ACCEPT" && e.hook !== undefined && FILTER_HOOKS.has(e.hook),
    );
    // iptables' filter table decides; its nat, mangle and raw chains at the same hook only pass
    // the packet on (nft names its tables as it likes: any of them may).
    const decided =
      lastAccept(accepts.filter((e) => e.table === "filter")) ??
      lastAccept(accepts.filter((e) => !NOT_FILTERING.has(e.table)));
    if (decided) said.push(`${node} ${where(decided)}`);
  }
  return said.length > 0 ? `accepted by ${said.join(", then by ")}` : undefined;
}
