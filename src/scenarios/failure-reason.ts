import type { CounterDelta } from "../evidence/counters.ts";
import type { TraceEvent } from "../evidence/events.ts";
import { hostPort } from "../probes/params.ts";
import { decidingRule, type Outcome, ruleOfKind } from "./explain.ts";
import { packetOf, type WatchedFlow } from "./flow-verdicts.ts";
import { onwardDrops, onwardDropsClause } from "./onward-drops.ts";
import type { Check } from "./step-result.ts";
import { tracedRule } from "./traced-rule.ts";

/** What a failed probe step's one-line reason is made of. */
export interface FailedProbe {
  readonly expect: string;
  readonly verdict: string;
  /** The agent's own words for the verdict (its last line is shown for errors and ICMP errors). */
  readonly detail: string;
  /** The packet, "TCP 10.0.1.10:62052 -> 10.0.2.22:22". */
  readonly described: string;
  /** The first check that failed, and whether it was the probe's own result (a reply, a status). */
  readonly first: Check;
  readonly probeCheckFailed: boolean;
  /** How many other steps ran beside this one (their packets share the counters). */
  readonly alongside: number;
  readonly counters: Readonly<Record<string, readonly CounterDelta[]>>;
  /** The firewalls' trace lines of the probe's own flows, its answers included (none untraced). */
  readonly trace: readonly TraceEvent[];
  /** Every trace line of the step, whoever's packets. */
  readonly traced: readonly TraceEvent[];
  /** The target's address, the probing node's addresses, and the probe's flows. */
  readonly to: string;
  readonly from: readonly string[];
  readonly flows: readonly WatchedFlow[];
}

const ANSWER = { tcp: "a reset", udp: "ICMP port unreachable" } as const;

/**
 * The one line a failed probe step says why in. A verdict other than the expected one names the
 * rule that decided, from the firewalls' trace of the probe's own packets (traced-rule.ts), else
 * from the counters (explain.ts). But when the trace shows that no firewall stopped the probe's
 * own packets, a refusal came from the far end's own kernel and a silence from beyond the
 * firewalls; the counters that moved for a drop were other packets'. The reason then says where
 * the packet went (for a probe of several connections, the one that failed), the rule that let
 * it, and what answered. When a firewall dropped the server's own question to a third host (a
 * DNS server that forwards), that is said too.
 */
export function probeFailureReason(f: FailedProbe): string {
  // Another host's packets, not the probe's own (its answers too, to a masqueraded client).
  const own = new Set(f.trace);
  const others = f.traced.filter((e) => !own.has(e));
  const onward = f.verdict !== f.expect || f.probeCheckFailed ? onwardDrops(others, f.to, f.from) : [];
  const tail = onwardDropsClause(onward, f.to);
  if (f.verdict === f.expect) return `${f.first.what}: ${f.first.detail}${tail}`;
  // A probe of several connections (FTP's control, then data) stops at the first that fails:
  // its last. Where the firewalls passed that one, it is what the reason is about.
  const last = f.flows.length > 1 ? f.flows.at(-1) : undefined;
  const lastTrace = last ? f.trace.filter((e) => e.packet && packetOf(last, e.packet, true)) : [];
  const trace = lastTrace.some((e) => e.packet?.dst === f.to) ? lastTrace : f.trace;
  const flow = trace === lastTrace ? last : f.flows[0];
  const towards = trace.filter((e) => e.packet?.dst === f.to);
  const wentIn = towards.find((e) => e.passed === "delivered")?.node;
  const through = [...new Set(towards.filter((e) => e.passed === "forwarded").map((e) => e.node))];
  const stopped = f.trace.some((e) => e.verdict === "DROP");
  const passed = f.verdict !== "ok" && !stopped && (wentIn !== undefined || through.length > 0);
  let described = f.described;
  let decided: string | undefined;
  let answered = "";
  if (passed) {
    if (flow && flow !== f.flows[0])
      described += `, and its connection to ${hostPort(flow.dst, flow.dport ?? "")}`;
    const path = wentIn ? `went in to ${wentIn} itself` : `passed through ${through.join(", ")}`;
    const rule =
      tracedRule(trace, f.to, "through") ?? (f.alongside ? undefined : ruleOfKind(f.counters, "through"));
    decided = rule ? `${path}, ${rule}` : path;
    if (f.verdict === "refused" && flow && flow.proto !== "icmp")
      answered = wentIn
        ? `; no rule refused it: ${wentIn}'s own kernel answered with ${ANSWER[flow.proto]} (nothing listens on ${flow.proto}/${flow.dport} there)`
        : `; no firewall refused it: ${f.to} answered with ${ANSWER[flow.proto]} itself (nothing listens on ${flow.proto}/${flow.dport} there, or its own rules refuse it)`;
  } else {
    // The trace names the rule its own packets met; the counters, shared by every packet of the
    // step (other steps' beside it too), only where the trace names none.
    const outcome = outcomeOf(f.verdict);
    decided =
      (outcome && tracedRule(f.trace, f.to, outcome)) ??
      (f.alongside ? `(ran beside ${f.alongside} other steps)` : decidingRule(f.counters, outcome));
  }
  // What the node itself said: no route, refused by whom, the tool's error.
  const said =
    f.verdict === "error" || f.verdict === "unreachable" ? ` (${f.detail.split("\n").at(-1)})` : "";
  return `expected ${f.expect}, observed ${f.verdict}: ${described}${decided ? ` ${decided}` : ""}${said}${answered}${tail}`;
}

const outcomeOf = (verdict: string): Outcome | undefined =>
  verdict === "ok"
    ? "through"
    : ["timeout", "refused", "unreachable"].includes(verdict)
      ? "stopped"
      : undefined;
