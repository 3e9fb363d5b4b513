import { conntrackTable } from "../evidence/conntrack-source.ts";
import { type CounterDelta, counterDeltas } from "../evidence/counters.ts";
import type { ConntrackChangeEvent, EvidenceEvent, PacketLogEvent, TraceEvent } from "../evidence/events.ts";
import { CATCH_UP_MS } from "../evidence/markers.ts";
import type { ConntrackEntry } from "../evidence/parse-conntrack.ts";
import type { StartedLab } from "../lab/started-lab.ts";
import { probeKind } from "../probes/index.ts";
import { isAddress } from "../probes/params.ts";
import type { ProbeAgent } from "../probes/probe-agent.ts";
import type { NodeExec } from "../runtime/exec-result.ts";
import { compressIpv6 } from "../util/ipv6.ts";
import { checkEvidence, tableAt } from "./check-evidence.ts";
import { writeBundle } from "./failure-bundle.ts";
import { probeFailureReason } from "./failure-reason.ts";
import { type FlowVerdicts, packetOf } from "./flow-verdicts.ts";
import type { LabWatchers } from "./lab-watchers.ts";
import { ANSWER_LIMIT_MS, IN_FLIGHT_MS, raceProbe } from "./probe-race.ts";
import type { ExecStep, LoadStep, ProbeStep, SysctlStep } from "./scenario-schema.ts";
import { settledTable } from "./settled-table.ts";
import type { Check, StepResult } from "./step-result.ts";
import { eventsOfStep } from "./step-window.ts";
import { noWayBack, onwardNoWayBack } from "./way-back.ts";

/** What a step needs from the scenario that runs it. */
export interface StepContext {
  readonly lab: StartedLab;
  readonly scenarioSlug: string;
  readonly bundleDir: string;
  readonly firewalls: readonly string[];
  readonly events: readonly EvidenceEvent[];
  readonly watchers: LabWatchers;
  readonly signal?: AbortSignal;
  agent(node: string): Promise<ProbeAgent>;
  /** A node's commands through its agent. */
  exec(node: string): NodeExec;
  path(p: string): string;
  /** What the firewalls' traces say about probes' flows (absent: probes wait out timeouts). */
  readonly flows?: FlowVerdicts;
  /** A block of PORT_BLOCK source ports of fwlab's own range, unused by the run's other probes for a long while. */
  sourcePorts(): number[];
}

/** Source ports each probe gets: its first connection, and FTP's two data connections. */
export const PORT_BLOCK = 4;

/**
 * Runs one probe step. With `alongside` > 0 the step runs in a batch with others that assert no
 * evidence (see run-scenarios.ts): their counter deltas overlap, so no rule is named in its reason.
 */
export async function runProbeStep(
  ctx: StepContext,
  step: ProbeStep,
  index: number,
  alongside = 0,
): Promise<StepResult> {
  const { lab } = ctx;
  const probe = probeKind(step);
  const to = resolveTarget(lab, step.from, probe.target(step), step.family);
  // A lab's round trip is well under a millisecond: half a second of silence that no firewall
  // explains is a drop. An answer a firewall passed on is waited for (ANSWER_LIMIT_MS).
  const timeoutMs = step.timeoutMs ?? 500;
  const agent = await ctx.agent(step.from);
  const ports = ctx.sourcePorts();
  const raced = ctx.flows && probe.watchesFlows(step);
  const waitMs = raced ? Math.max(timeoutMs, ANSWER_LIMIT_MS) : timeoutMs;
  const stepT0 = performance.now();
  const before = await ctx.watchers.counters.any();
  // The step's evidence is what arrives from now on (eventsOfStep).
  const firstEvent = ctx.events.length;
  const startedAt = Date.now();
  const t0 = performance.now();
  const src = [
    ...Object.values(lab.node(step.from).addresses),
    ...Object.values(lab.node(step.from).addresses6),
  ];
  const { result: r, flows } = await raceProbe({
    agent,
    kind: step.probe,
    request: probe.request(step, {
      to,
      waitMs,
      timeoutMs,
      ports,
      wantsAnswer: step.evidence?.seenFrom !== undefined,
    }),
    lab: lab.name,
    fromNode: step.from,
    src,
    timeoutMs,
    // Across hosts a packet crosses the overlay (VXLAN through two hosts' stacks) before the
    // first firewall sees it; on one host it is there within the step's timeout.
    inFlightMs: lab.multiHost ? IN_FLIGHT_MS : 0,
    flows: raced ? ctx.flows : undefined,
    syncTraces: () => ctx.watchers.syncTraces(),
    signal: ctx.signal,
  });
  const verdictMs = performance.now() - t0;
  // The counters after are read while the evidence streams catch up: the probe's packets were
  // counted when they passed the rules, before its verdict came back (its closing packets too:
  // the kernel sends them inside the call that closes its socket).
  const [caughtUp, after] = await Promise.all([
    settle(ctx, step),
    ctx.watchers.counters.fresh(performance.now()),
  ]);
  // Every rule's change is checked (an nft rule nft keeps no count of says so); the ones that
  // moved are the step's evidence and explain its verdict.
  const deltas: Record<string, CounterDelta[]> = {};
  const counters: Record<string, CounterDelta[]> = {};
  for (const [node, tables] of after) {
    deltas[node] = counterDeltas(before.get(node) ?? [], tables);
    counters[node] = deltas[node].filter((d) => d.packets !== 0);
  }
  const endedAt = Date.now();
  const mine = eventsOfStep(ctx.events, { lab: lab.name, firstEvent, startedAt, endedAt });
  const logs = mine.filter((e): e is PacketLogEvent => e.kind === "packet-log");
  const conntrack = mine.filter((e): e is ConntrackChangeEvent => e.kind === "conntrack");
  const seenFrom = probe.seenFrom?.(r);
  const trace = mine.filter(
    (e): e is TraceEvent =>
      e.kind === "trace" &&
      !!e.packet &&
      (flows.length ? flows.some((f) => packetOf(f, e.packet!, true)) : touches(e, lab, step.from, to)),
  );
  const tables: Record<string, ConntrackEntry[]> = {};
  const sameHost = (a: string, b: string) => lab.node(a).host === lab.node(b).host || lab.engines.size === 1;
  for (const node of new Set((step.evidence?.conntrackTable ?? []).map((c) => c.node))) {
    const read = await settledTable(
      () => conntrackTable(lab, node, "snapshot", ctx.exec(node)).then((t) => t.entries as ConntrackEntry[]),
      flows,
    );
    // A short timeout may expire an entry between the step's end and this read: what the
    // events say was there at the end counts too.
    tables[node] = tableAt(
      read,
      conntrack.filter((e) => e.node === node),
      // The step's end is when the probe ended, not when a busy fwlab had read its verdict and
      // evidence: a 1-second UDP entry lives past the first. The probe's end is on its node's
      // host clock; another host's may differ a little (NTP keeps hosts within milliseconds):
      // a quarter of a second more then.
      Math.min(caughtUp.at, (r.endedAt ?? Number.POSITIVE_INFINITY) + (sameHost(step.from, node) ? 50 : 250)),
    );
  }

  const checks: Check[] = [
    { what: `verdict ${step.expect}`, ok: r.verdict === step.expect, detail: `${r.verdict}: ${r.detail}` },
    ...probe.check(step, r).map((m) => ({ what: `${step.probe} result`, ok: false, detail: m })),
    ...caughtUp.missing.map((m) => ({ what: "evidence complete", ok: false, detail: m })),
    ...(step.evidence
      ? checkEvidence(step.evidence, {
          logs,
          conntrack,
          counters: deltas,
          seenFrom,
          seenHow:
            probe.seenHow?.(step) ??
            (probe.seenFrom
              ? undefined
              : `a ${step.probe} probe does not learn what the far side saw (tcp, udp, http and ssh probes do)`),
          tables,
          trace: ctx.flows ? trace : [],
        })
      : []),
  ];
  const passed = checks.every((c) => c.ok);
  let reason: string | undefined;
  if (!passed) {
    const first = checks.find((c) => !c.ok)!;
    reason = probeFailureReason({
      expect: step.expect,
      verdict: r.verdict,
      detail: r.detail,
      described: probe.describe(step, to, r),
      first,
      probeCheckFailed: first.what === `${step.probe} result`,
      alongside,
      counters,
      trace,
      traced: mine.filter((e): e is TraceEvent => e.kind === "trace"),
      to,
      from: src,
      flows,
    });
    if (r.verdict === "timeout" && step.expect !== "timeout") {
      const way = { conntrack, to, nodes: lab.nodes, exec: (n: string) => ctx.exec(n) };
      const own = new Set(trace);
      reason +=
        (await noWayBack({ ...way, trace, flow: flows[0] })) ||
        (await onwardNoWayBack({
          ...way,
          others: mine.filter((e): e is TraceEvent => e.kind === "trace" && !own.has(e)),
          client: src,
        }));
    }
  }
  const result: StepResult = {
    index,
    name: step.name,
    kind: "probe",
    probe: step.probe,
    from: step.from,
    to,
    expected: step.expect,
    observed: r.verdict,
    passed,
    reason,
    detail: r.detail,
    why: step.why,
    durationMs: performance.now() - stepT0,
    verdictMs,
    probeMs: r.durationMs,
    checks,
    evidence: { logs, conntrack, counters, seenFrom, trace },
    startedAt,
  };
  return passed ? result : { ...result, bundle: await writeBundle(ctx, result, startedAt, endedAt) };
}

/**
 * Waits until the evidence streams a step reads have delivered everything up to its end: the
 * firewalls' traces always (the step keeps its packets' paths), LOG and NFLOG lines and
 * conntrack events of the nodes its expectations name. Each stream is caught up with a marker
 * of its own (markers.ts), not a guess of how long a busy machine takes. Says what could not be
 * caught up with, and when the step ended.
 */
async function settle(ctx: StepContext, step: ProbeStep): Promise<{ at: number; missing: string[] }> {
  const at = Date.now();
  const ev = step.evidence;
  const logNodes = new Set([
    ...(ev?.log ?? []).map((l) => l.node),
    ...(ev?.logOrder ? [ev.logOrder.node] : []),
  ]);
  const ctNodes = new Set([...(ev?.conntrack ?? []), ...(ev?.conntrackTable ?? [])].map((c) => c.node));
  const missing: string[] = [];
  await Promise.all([
    ctx.watchers.syncTraces(),
    ...[...logNodes].map(async (n) => {
      const late = await ctx.watchers.syncLogs(n);
      if (late.length > 0)
        missing.push(`[${n}] ${late.join(" and ")} did not catch up within ${CATCH_UP_MS / 1000} s`);
    }),
    ...[...ctNodes].map(async (n) => {
      if (!(await ctx.watchers.syncConntrack(n)))
        missing.push(`[${n}] its conntrack events did not catch up within ${CATCH_UP_MS / 1000} s`);
    }),
  ]);
  return { at, missing };
}

/** A traced packet between a probe's node and its target (probes without a known flow). */
const touches = (e: TraceEvent, lab: StartedLab, from: string, to: string) => {
  const mine = Object.values(lab.node(from).addresses);
  const p = e.packet!;
  return (mine.includes(p.src) && p.dst === to) || (mine.includes(p.dst) && p.src === to);
};

export async function runLoadStep(ctx: StepContext, step: LoadStep, index: number): Promise<StepResult> {
  const startedAt = Date.now();
  const t0 = performance.now();
  let observed: "loads" | "fails" = "loads";
  let detail = "";
  try {
    const r = await ctx.lab.loadRuleset(step.load.node, ctx.path(step.load.file), {
      backend: step.load.backend,
      ...(step.load.ipv6 ? { ipv6: ctx.path(step.load.ipv6) } : {}),
      via: ctx.exec(step.load.node),
      ownTables: ctx.watchers.ownTables(step.load.node),
      listing: true,
    });
    detail = `loaded ${r.rules} rules (${r.format}, ${r.backend})${r.notes.map((n) => `; ${n}`).join("")}`;
    await ctx.watchers.rulesetLoaded(step.load.node, r);
  } catch (err) {
    observed = "fails";
    detail = (err as Error).message;
  }
  const checks: Check[] = [{ what: `load ${step.expect}`, ok: observed === step.expect, detail }];
  if (step.message !== undefined)
    checks.push({ what: `message has "${step.message}"`, ok: detail.includes(step.message), detail });
  const passed = checks.every((c) => c.ok);
  return {
    index,
    name: step.name,
    kind: "load",
    expected: step.expect,
    observed,
    passed,
    reason: passed
      ? undefined
      : `expected the ruleset ${step.expect === "loads" ? "to load" : "to fail"}: ${detail.split("\n")[0]}`,
    detail,
    why: step.why,
    durationMs: performance.now() - t0,
    checks,
    startedAt,
  };
}

export async function runExecStep(ctx: StepContext, step: ExecStep, index: number): Promise<StepResult> {
  const startedAt = Date.now();
  const t0 = performance.now();
  const r = await ctx.exec(step.exec.node)(step.exec.command);
  const observed = r.exitCode === 0 ? "succeeds" : "fails";
  const expected = step.expect ?? "succeeds";
  const detail = `exit ${r.exitCode}${r.stderr.trim() ? `: ${r.stderr.trim()}` : ""}${r.stdout.trim() ? ` | ${r.stdout.trim().slice(0, 300)}` : ""}`;
  const checks: Check[] = [{ what: `exec ${expected}`, ok: observed === expected, detail }];
  if (step.output !== undefined)
    checks.push({
      what: `output has "${step.output}"`,
      ok: r.stdout.includes(step.output),
      detail: r.stdout.trim().slice(0, 300),
    });
  const failed = checks.find((c) => !c.ok);
  return {
    index,
    name: step.name,
    kind: "exec",
    expected,
    observed,
    passed: !failed,
    reason: failed
      ? `[${step.exec.node}] ${step.exec.command.join(" ")}: ${failed.what}: ${failed.detail}`
      : undefined,
    detail,
    why: step.why,
    durationMs: performance.now() - t0,
    checks,
    startedAt,
  };
}

/** A node ("web"), a node on a network ("fw:wan"), or an address. A node's address on a network it
 * shares with `from` is the one a packet from `from` would use. */
export function resolveTarget(lab: StartedLab, from: string, target: string, family: 4 | 6 = 4): string {
  if (isAddress(target)) return compressIpv6(target);
  const [name, net] = target.split(":");
  const node = lab.node(name!);
  if (net) return family === 6 ? lab.address6(name!, net) : lab.address(name!, net);
  const theirs = family === 6 ? node.addresses6 : node.addresses;
  const mine = family === 6 ? lab.node(from).addresses6 : lab.node(from).addresses;
  const shared = Object.keys(theirs).find((n) => n in mine);
  const addr = shared ? theirs[shared] : Object.values(theirs)[0];
  if (!addr) return family === 6 ? lab.address6(name!) : lab.address(name!); // says what is missing
  return addr;
}

/** Sets net.* sysctls of a node mid-scenario (they are put back when the scenario ends). */
export async function runSysctlStep(ctx: StepContext, step: SysctlStep, index: number): Promise<StepResult> {
  const startedAt = Date.now();
  const t0 = performance.now();
  let detail = "";
  let ok = true;
  try {
    for (const [key, value] of Object.entries(step.sysctl.set))
      await ctx.lab.setSysctl(step.sysctl.node, key, String(value));
    detail = Object.entries(step.sysctl.set)
      .map(([k, v]) => `${k}=${v}`)
      .join(" ");
  } catch (err) {
    ok = false;
    detail = (err as Error).message;
  }
  return {
    index,
    name: step.name,
    kind: "exec",
    expected: "succeeds",
    observed: ok ? "succeeds" : "fails",
    passed: ok,
    reason: ok ? undefined : detail,
    detail,
    why: step.why,
    durationMs: performance.now() - t0,
    checks: [{ what: "sysctl set", ok, detail }],
    startedAt,
  };
}
