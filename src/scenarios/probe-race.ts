import type { TraceEvent } from "../evidence/events.ts";
import type { AgentResult, ProbeAgent, ProbeFlow } from "../probes/probe-agent.ts";
import { dropSite, type FlowVerdicts, type FlowWatch, type WatchedFlow } from "./flow-verdicts.ts";

/**
 * How long a probe waits for an answer that is in flight: a firewall passed its packet on, or
 * its connection is up and the exchange goes on. The answer comes from a server's process, which
 * on a busy machine may take long to be scheduled; the verdict must not depend on that.
 */
export const ANSWER_LIMIT_MS = 5000;

/**
 * How long a packet that no firewall saw by the step's timeout may still be on its way to one
 * in a lab that spans hosts (crossing the overlay on a busy machine) before `timeout` is said.
 * On one host the step's timeout is the client's patience, as a user set it: a SYN that never
 * left its node (no neighbour found) is `timeout` then, not what the kernel says seconds later.
 */
export const IN_FLIGHT_MS = 2000;

export interface ProbeRace {
  readonly agent: Pick<ProbeAgent, "run">;
  readonly kind: string;
  readonly request: Record<string, unknown>;
  /** The lab and node the probe runs from, and the node's addresses (its packets' sources). */
  readonly lab: string;
  readonly fromNode: string;
  readonly src: readonly string[];
  /** The step's own timeout: silence for this long, with no firewall seeing the packet, is `timeout`. */
  readonly timeoutMs: number;
  /** How long a packet no firewall saw may still be on its way (IN_FLIGHT_MS across hosts; none by default). */
  readonly inFlightMs?: number;
  /** The firewalls' traces (absent: the probe decides on its own, with its own timeout). */
  readonly flows?: FlowVerdicts;
  /** Resolves true once every firewall's trace lines up to now are in (false: it could not tell). */
  readonly syncTraces: () => Promise<boolean>;
  readonly signal?: AbortSignal;
}

export interface RaceResult {
  readonly result: AgentResult;
  /** Every flow the probe announced. */
  readonly flows: readonly WatchedFlow[];
}

/**
 * Runs a probe in its node and decides it with the firewalls' traces:
 *  - a firewall that drops one of its flows' first packets (or the answer) decides `timeout`
 *    at once, naming the rule;
 *  - after the step's timeout with no answer, a flow that a firewall passed on waits for its
 *    answer (the agent's own limit, ANSWER_LIMIT_MS);
 *  - one that no firewall passed on is `timeout`, said only once every firewall's trace has
 *    caught up (a marker came back): positive evidence, not a guess against a busy machine;
 *    across hosts, one that no firewall saw at all gets IN_FLIGHT_MS more first (it may still
 *    be on its way).
 */
export async function raceProbe(p: ProbeRace): Promise<RaceResult> {
  const since = Date.now();
  const t0 = performance.now();
  const inFlightMs = p.inFlightMs ?? 0;
  const flows: WatchedFlow[] = [];
  if (!p.flows) return { result: await p.agent.run(p.kind, p.request, { signal: p.signal }), flows };
  const cancel = new AbortController();
  const signal = p.signal ? AbortSignal.any([p.signal, cancel.signal]) : cancel.signal;
  let decide!: (r: AgentResult) => void;
  const decided = new Promise<AgentResult>((r) => {
    decide = r;
  });
  const open: { flow: ProbeFlow; watch: FlowWatch; timer: NodeJS.Timeout; answered: boolean }[] = [];
  const ms = () => Math.round(performance.now() - t0);
  const local = (f: WatchedFlow) => `${f.src[0]}:${f.sport ?? ""}`;

  const onFlow = (flow: ProbeFlow, answered: boolean) => {
    if (answered) {
      for (const o of open) if (sameFlow(o.flow, flow)) o.answered = true;
      return;
    }
    const wf: WatchedFlow = { ...flow, lab: p.lab, fromNode: p.fromNode, src: p.src };
    flows.push(wf);
    const watch = p.flows!.watch(wf, since);
    const entry = { flow, watch, answered: false, timer: setTimeout(() => void silence(), p.timeoutMs) };
    open.push(entry);
    void watch.dropped.then((e) => decide(dropped(e, wf, ms())));
    const silence = async () => {
      const waiting = () => entry.answered || !!watch.passed();
      if (waiting() || !(await p.syncTraces()) || waiting()) return;
      if (!watch.seen() && inFlightMs > 0) {
        // No firewall has seen it yet, which is not yet evidence across hosts: a packet can still
        // be crossing the overlay when the traces are caught up with. It gets `inFlightMs` more,
        // and the traces are caught up with again.
        await new Promise((r) => setTimeout(r, inFlightMs));
        if (signal.aborted || waiting() || !(await p.syncTraces()) || waiting()) return;
      }
      const seen = watch.seen();
      // The silence counts from the packet's first sighting when a firewall saw it: a probe that
      // runs a program (dig, curl) says its flow before the program has sent anything, and on a
      // busy machine that start took more than the whole timeout once (its answer came 10 ms
      // after a premature "timeout").
      const left = seen ? p.timeoutMs - (Date.now() - seen.time) : 0;
      if (left > 0) {
        entry.timer = setTimeout(() => void silence(), left);
        return;
      }
      const rejected = watch.rejected();
      decide({
        verdict: "timeout",
        detail: rejected
          ? // A reset always goes out; an ICMP error may not: a kernel limits how many it sends
            // a host (fwlab's nodes do not, unless a lab file or scenario sets the limit again).
            `${rejected.node} rejected it (${dropSite(rejected)}: ${rejected.ruleText}), but no error came back within ${p.timeoutMs} ms: a kernel that rate-limits its ICMP errors (net.ipv4.icmp_ratelimit, net.ipv6.icmp.ratelimit) sends none for a while`
          : seen
            ? `${seen.node} took the packet in but did not pass it on; no answer within ${p.timeoutMs} ms`
            : `no answer within ${p.timeoutMs} ms, and no firewall saw the packet${inFlightMs > 0 ? ` in ${p.timeoutMs + inFlightMs} ms` : ""}`,
        durationMs: performance.now() - t0,
        facts: { local: local(wf), silence: true },
      });
    };
  };
  try {
    const result = await Promise.race([p.agent.run(p.kind, p.request, { signal, onFlow }), decided]);
    // A probe that never connected does not know its own address: its first flow says it.
    const first = flows[0];
    return {
      result:
        result.facts?.local === undefined && first
          ? { ...result, facts: { ...result.facts, local: local(first) } }
          : result,
      flows,
    };
  } finally {
    for (const o of open) {
      clearTimeout(o.timer);
      o.watch.close();
    }
    cancel.abort(); // after the race: stops a probe fwlab decided, a no-op for one that answered
  }
}

const sameFlow = (a: ProbeFlow, b: ProbeFlow) =>
  a.proto === b.proto && a.dst === b.dst && a.sport === b.sport && a.dport === b.dport;

function dropped(e: TraceEvent, flow: WatchedFlow, ms: number): AgentResult {
  const where = e.rule === undefined ? dropSite(e) : `${dropSite(e)} (${e.ruleText})`;
  return {
    verdict: "timeout",
    detail: `dropped by ${e.node} ${where}; seen ${ms} ms after sending, no client timeout waited`,
    durationMs: ms,
    facts: { local: `${flow.src[0]}:${flow.sport ?? ""}`, droppedBy: e },
  };
}
