import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { conntrackTable } from "../evidence/conntrack-source.ts";
import { type CounterDelta, counterDeltas } from "../evidence/counters.ts";
import type { ConntrackChangeEvent, EvidenceEvent, PacketLogEvent, TraceEvent } from "../evidence/events.ts";
import type { ConntrackEntry } from "../evidence/parse-conntrack.ts";
import { parseSave, type SavedTable } from "../firewall/parse-save.ts";
import type { StartedLab } from "../lab/started-lab.ts";
import { probeFor } from "../probes/index.ts";
import type { AgentResult, ProbeAgent } from "../probes/probe-agent.ts";
import { checkEvidence } from "./check-evidence.ts";
import { type DropVerdicts, packetOf, type WatchedFlow } from "./drop-verdicts.ts";
import { decidingRule } from "./explain.ts";
import type { ExecStep, LoadStep, ProbeStep, SysctlStep } from "./scenario-schema.ts";
import type { Check, StepResult } from "./step-result.ts";
import type { WindowCapture } from "./window-capture.ts";

/** What a step needs from the scenario that runs it. */
export interface StepContext {
  readonly lab: StartedLab;
  readonly scenarioSlug: string;
  readonly bundleDir: string;
  readonly firewalls: readonly string[];
  readonly events: readonly EvidenceEvent[];
  readonly captures: ReadonlyMap<string, WindowCapture>;
  readonly signal?: AbortSignal;
  agent(node: string): Promise<ProbeAgent>;
  path(p: string): string;
  /** Called after a load step: the NFLOG groups may have changed. */
  rulesetsChanged(): Promise<void>;
  /** Tells a probe at once when a firewall drops its packet (absent: probes wait out timeouts). */
  readonly drops?: DropVerdicts;
  /** A source port of fwlab's own range, unused by the run's other probes for a long while. */
  sourcePort(): number;
}

// LOG lines reach fwlab within ~7 ms (p99, bench/events.ts) on a quiet machine; with several
// labs busy on two cores, later. A step that expects log lines waits until they are there, up
// to LOG_WAIT_MS; one that expects none waits GRACE_MS, long enough for a stray line to show.
const GRACE_MS = 25;
const LOG_WAIT_MS = 1000;

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
  const probe = probeFor(step);
  const target = "to" in step ? step.to : step.server;
  const to = resolveTarget(lab, step.from, target);
  // A lab's round trip is well under a millisecond: half a second of silence is a drop. (dig and
  // ssh count whole seconds, so their probes wait at least one.)
  const timeoutMs = step.timeoutMs ?? 500;
  const agent = await ctx.agent(step.from);
  const sport = ("sourcePort" in step ? step.sourcePort : undefined) ?? ctx.sourcePort();
  const flowOf = probe.flow?.(step as never, to, sport);
  const flow: WatchedFlow | undefined = flowOf && {
    ...flowOf,
    lab: lab.name,
    fromNode: step.from,
    src: Object.values(lab.node(step.from).addresses),
  };
  const before = await readAllCounters(ctx);
  const startedAt = Date.now();
  const t0 = performance.now();
  const r = await probeOrDrop(
    ctx,
    agent,
    step.probe,
    probe.request(step as never, to, timeoutMs, sport),
    flow,
    t0,
  );
  const durationMs = performance.now() - t0;
  if (step.evidence?.log || step.evidence?.logOrder) await logsSettled(ctx, step, startedAt);
  const after = await readAllCounters(ctx);
  const counters: Record<string, CounterDelta[]> = {};
  for (const [node, tables] of after) {
    counters[node] = counterDeltas(before.get(node) ?? [], tables).filter((d) => d.packets !== 0);
  }
  const endedAt = Date.now();
  const inWindow = (e: EvidenceEvent) =>
    "lab" in e && e.lab === lab.name && e.time >= startedAt - 5 && e.time <= endedAt;
  const logs = ctx.events.filter((e): e is PacketLogEvent => e.kind === "packet-log" && inWindow(e));
  const conntrack = ctx.events.filter(
    (e): e is ConntrackChangeEvent => e.kind === "conntrack" && inWindow(e),
  );
  const seenFrom = probe.seenFrom?.(r as never);
  const trace = ctx.events.filter(
    (e): e is TraceEvent =>
      e.kind === "trace" &&
      inWindow(e) &&
      !!e.packet &&
      (flow ? packetOf(flow, e.packet, true) : touches(e, lab, step.from, to)),
  );
  const tables: Record<string, ConntrackEntry[]> = {};
  for (const node of new Set((step.evidence?.conntrackTable ?? []).map((c) => c.node))) {
    tables[node] = (await conntrackTable(lab, node)).entries as ConntrackEntry[];
  }

  const checks: Check[] = [
    { what: `verdict ${step.expect}`, ok: r.verdict === step.expect, detail: `${r.verdict}: ${r.detail}` },
    ...probe.check(step as never, r).map((m) => ({ what: `${step.probe} result`, ok: false, detail: m })),
    ...(step.evidence ? checkEvidence(step.evidence, { logs, conntrack, counters, seenFrom, tables }) : []),
  ];
  const passed = checks.every((c) => c.ok);
  let reason: string | undefined;
  if (!passed) {
    const first = checks.find((c) => !c.ok)!;
    const decided = alongside ? `(ran beside ${alongside} other steps)` : decidingRule(counters);
    reason =
      r.verdict !== step.expect
        ? `expected ${step.expect}, observed ${r.verdict}: ${probe.describe(step as never, to, r)}${decided ? ` ${decided}` : ""}${
            r.verdict === "error" ? ` (${r.detail.split("\n").at(-1)})` : ""
          }`
        : `${first.what}: ${first.detail}`;
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
    durationMs,
    probeMs: r.durationMs,
    checks,
    evidence: { logs, conntrack, counters, seenFrom, trace },
    startedAt,
  };
  return passed ? result : { ...result, bundle: await writeBundle(ctx, result, startedAt, endedAt) };
}

/**
 * Runs the probe in its node and, where its flow is known, races it against the firewalls'
 * traces: a packet of the flow seen dropped decides `timeout` at once, naming the rule.
 */
async function probeOrDrop(
  ctx: StepContext,
  agent: ProbeAgent,
  kind: string,
  request: Record<string, unknown>,
  flow: WatchedFlow | undefined,
  t0: number,
): Promise<AgentResult> {
  const watch = flow && ctx.drops?.watch(flow);
  if (!watch) return agent.run(kind, request, ctx.signal);
  const cancel = new AbortController();
  const signal = ctx.signal ? AbortSignal.any([ctx.signal, cancel.signal]) : cancel.signal;
  try {
    return await Promise.race([
      agent.run(kind, request, signal),
      watch.dropped.then((e): AgentResult => {
        const where =
          e.rule === undefined
            ? `${e.table} ${e.chain} policy DROP`
            : `${e.table} ${e.chain} rule ${e.rule} (${e.ruleText})`;
        const ms = Math.round(performance.now() - t0);
        return {
          verdict: "timeout",
          detail: `dropped by ${e.node} ${where}; seen ${ms} ms after sending, no client timeout waited`,
          durationMs: performance.now() - t0,
          facts: { local: `${flow.src[0]}:${flow.sport ?? ""}`, droppedBy: e },
        };
      }),
    ]);
  } finally {
    watch.close();
    cancel.abort(); // after the race: stops a probe the trace decided, a no-op for one that answered
  }
}

/** Waits until the log lines a step expects (at least one of each prefix, the count when it
 * names one) have arrived, or LOG_WAIT_MS; then GRACE_MS more for lines beyond them. */
async function logsSettled(ctx: StepContext, step: ProbeStep, since: number): Promise<void> {
  const ev = step.evidence!;
  const wanted = [
    ...(ev.log ?? [])
      .filter((l) => l.count !== 0)
      .map((l) => ({ node: l.node, prefix: l.prefix, n: l.count ?? 1 })),
    ...(ev.logOrder?.prefixes ?? []).map((prefix) => ({ node: ev.logOrder!.node, prefix, n: 1 })),
  ];
  const have = (w: (typeof wanted)[number]) =>
    ctx.events.filter(
      (e) =>
        e.kind === "packet-log" &&
        e.lab === ctx.lab.name &&
        e.node === w.node &&
        e.time >= since - 5 &&
        e.prefix.trim() === w.prefix.trim(),
    ).length >= w.n;
  const deadline = Date.now() + LOG_WAIT_MS;
  while (Date.now() < deadline && !wanted.every(have)) await new Promise((r) => setTimeout(r, 5));
  await new Promise((r) => setTimeout(r, GRACE_MS));
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
    });
    detail = `loaded ${r.rules} rules (${r.format}, ${r.backend})`;
    await ctx.rulesetsChanged();
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
  const r = await ctx.lab.exec(step.exec.node, step.exec.command);
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
export function resolveTarget(lab: StartedLab, from: string, target: string): string {
  if (/^\d+\.\d+\.\d+\.\d+$/.test(target)) return target;
  const [name, net] = target.split(":");
  const node = lab.node(name!);
  if (net) return lab.address(name!, net);
  const mine = lab.node(from).addresses;
  const shared = Object.keys(node.addresses).find((n) => n in mine);
  return shared ? node.addresses[shared]! : Object.values(node.addresses)[0]!;
}

async function readAllCounters(ctx: StepContext): Promise<Map<string, SavedTable[]>> {
  const out = new Map<string, SavedTable[]>();
  await Promise.all(
    ctx.firewalls.map(async (n) => {
      // Through the node's probe agent: a docker exec per read would cost ~43 ms, twice a step.
      const r = await (await ctx.agent(n)).run("exec", { argv: ["fwlab-ruleset", "save"] });
      out.set(n, parseSave(String(r.facts?.stdout ?? ""))); // an nft ruleset has no iptables tables: []
    }),
  );
  return out;
}

/** A failed step leaves what the firewall knew: rules with counters, conntrack, log lines, pcap. */
async function writeBundle(ctx: StepContext, r: StepResult, from: number, to: number): Promise<string> {
  const dir = join(
    ctx.bundleDir,
    ctx.scenarioSlug,
    `${String(r.index + 1).padStart(2, "0")}-${slug(r.name)}`,
  );
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "step.json"), `${JSON.stringify(r, null, 2)}\n`);
  await writeFile(
    join(dir, "logs.jsonl"),
    (r.evidence?.logs ?? []).map((e) => `${JSON.stringify(e)}\n`).join(""),
  );
  for (const node of ctx.firewalls) {
    const [rules, ct] = await Promise.all([
      ctx.lab.exec(node, ["fwlab-ruleset", "list"]),
      ctx.lab.exec(node, ["conntrack", "-L", "-o", "extended,id"]),
    ]);
    await writeFile(join(dir, `${node}-rules.txt`), rules.stdout + rules.stderr);
    await writeFile(join(dir, `${node}-conntrack.txt`), ct.stdout + ct.stderr);
    await ctx.captures.get(node)?.write(join(dir, `${node}.pcap`), from - 50, to);
  }
  return dir;
}

export const slug = (s: string): string =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "")
    .slice(0, 60) || "step";

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
