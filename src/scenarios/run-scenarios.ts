import { relative } from "node:path";
import { EventBus } from "../evidence/event-bus.ts";
import type { EvidenceEvent } from "../evidence/events.ts";
import { watchKernelLog } from "../evidence/kernel-log-source.ts";
import { labStatus } from "../lab/lab-status.ts";
import { startLabSpec } from "../lab/start-lab.ts";
import { StartedLab } from "../lab/started-lab.ts";
import { probeKind } from "../probes/index.ts";
import { ProbeAgent } from "../probes/probe-agent.ts";
import { DockerRuntime } from "../runtime/docker-runtime.ts";
import { hostSysctl } from "../runtime/host-kernel.ts";
import { type Progress, silent } from "../util/progress.ts";
import { projectRoot } from "../util/project-root.ts";
import { FlowVerdicts } from "./flow-verdicts.ts";
import { LabWatchers } from "./lab-watchers.ts";
import { NodeDeaths } from "./node-deaths.ts";
import { type LoadedScenario, readScenarioFile } from "./read-scenario-file.ts";
import {
  PORT_BLOCK,
  runExecStep,
  runLoadStep,
  runProbeStep,
  runSysctlStep,
  type StepContext,
  slug,
} from "./run-step.ts";
import { recoverDeadRun, restoreState, saveState } from "./saved-state.ts";
import type { ProbeStep, Step } from "./scenario-schema.ts";
import type { ScenarioResult, StepResult } from "./step-result.ts";

export interface RunOptions {
  readonly labName?: string;
  readonly signal?: AbortSignal;
  /** Where failure bundles go (default fwlab-results/). */
  readonly bundleDir?: string;
  /** Run scenarios marked optIn (they change the host). */
  readonly optIn?: boolean;
  readonly progress?: Progress;
  readonly onStep?: (scenario: LoadedScenario, step: StepResult) => void;
  readonly runtime?: DockerRuntime;
}

/**
 * Runs scenario files: all are read and checked first (nothing runs if one is invalid), each
 * lab they name is attached or started once, and every scenario leaves its lab as it found it
 * (rulesets and sysctls put back). Labs the run started are stopped at its end.
 */
export async function runScenarios(
  files: readonly string[],
  opts: RunOptions = {},
): Promise<ScenarioResult[]> {
  const loaded = files.map((f) => readScenarioFile(f, { labName: opts.labName }));
  const runtime = opts.runtime ?? (await DockerRuntime.connect());
  const progress = opts.progress ?? silent;
  const bus = new EventBus(200_000);
  const events: EvidenceEvent[] = [];
  bus.subscribe((e) => events.push(e));
  const flows = new FlowVerdicts(bus);
  // fwlab's probes bind ports above the kernel's ephemeral range (32768-60999), so no other
  // socket shares them; a random start keeps back-to-back runs off each other's conntrack
  // entries. Each probe gets a block (FTP's data connections use the ports after its first).
  let nextBlock = Math.floor(Math.random() * (PORTS / PORT_BLOCK));
  const sourcePorts = () => {
    const first = FIRST_PORT + (nextBlock++ % (PORTS / PORT_BLOCK)) * PORT_BLOCK;
    return Array.from({ length: PORT_BLOCK }, (_, i) => first + i);
  };
  const kernel = await watchKernelLog(runtime, bus);
  const labs = new Map<
    string,
    { lab: StartedLab; started: boolean; watchers?: LabWatchers; deaths: NodeDeaths }
  >();
  const agents = new Map<string, Promise<ProbeAgent>>();
  const results: ScenarioResult[] = [];
  try {
    for (const s of loaded) {
      if (opts.signal?.aborted) break;
      if (s.scenario.optIn && !opts.optIn) {
        results.push({
          file: s.file,
          name: s.scenario.name,
          lab: s.lab.name,
          steps: [],
          passed: true,
          durationMs: 0,
          skipped: "opt-in scenario (run with --opt-in)",
        });
        continue;
      }
      let entry = labs.get(s.lab.name);
      if (!entry) {
        const status = await labStatus(runtime, s.lab.name);
        const up = status.ready && status.nodes.length === s.lab.nodes.length;
        const lab = up
          ? await StartedLab.attach(runtime, s.lab.name)
          : await startLabSpec(s.lab, { runtime, progress, signal: opts.signal });
        const firewalls = lab.nodes.filter((n) => n.firewall).map((n) => n.name);
        entry = { lab, started: !up, deaths: await NodeDeaths.watch(runtime, lab.name, firewalls) };
        labs.set(s.lab.name, entry);
        if (up) await recoverDeadRun(lab, progress);
      }
      const lab = entry.lab;
      const agent = (node: string) => {
        const key = `${lab.name}/${node}`;
        if (!agents.has(key)) agents.set(key, ProbeAgent.start(lab, node));
        return agents.get(key)!;
      };
      // Conntrack listeners and captures live as long as the run: starting them costs more
      // than most scenarios' steps. Markers and rule reads go through the nodes' agents.
      const run = async (node: string, argv: string[]) => {
        const r = await (await agent(node)).run("exec", { argv });
        return { stdout: String(r.facts?.stdout ?? "") };
      };
      const mark = (node: string) => async (sport: number) => {
        await (await agent(node)).run("mark", { sport });
      };
      entry.watchers ??= await LabWatchers.start(lab, bus, kernel, run, mark);
      events.length = 0;
      results.push(
        await runScenario(
          s,
          lab,
          { ...opts, progress },
          events,
          agent,
          entry.watchers,
          { flows, sourcePorts },
          entry.deaths,
        ),
      );
    }
  } finally {
    await Promise.all([...labs.values()].map((l) => l.watchers?.stop()));
    for (const l of labs.values()) l.deaths.stop();
    await Promise.all([...agents.values()].map(async (a) => (await a.catch(() => undefined))?.stop()));
    await kernel.stop();
    flows.close();
    for (const { lab, started } of labs.values()) if (started) await lab.stop();
  }
  return results;
}

async function runScenario(
  s: LoadedScenario,
  lab: StartedLab,
  opts: RunOptions & { progress: Progress },
  events: EvidenceEvent[],
  agent: (node: string) => Promise<ProbeAgent>,
  watchers: LabWatchers,
  probes: Pick<StepContext, "flows" | "sourcePorts">,
  deaths: NodeDeaths,
): Promise<ScenarioResult> {
  const t0 = performance.now();
  const name = s.scenario.name;
  const firewalls = lab.nodes.filter((n) => n.firewall).map((n) => n.name);
  opts.progress(`Scenario ${name} (${relative(projectRoot(), s.file)})`);
  const saved = await saveState(lab, firewalls, s);
  const steps: StepResult[] = [];
  let error: string | undefined;
  const hostSaved: [string, string][] = [];
  try {
    for (const [key, value] of Object.entries(s.scenario.host?.sysctls ?? {})) {
      hostSaved.push([key, await hostSysctl(key, String(value))]);
      opts.progress(`  host: ${key}=${value} (was ${hostSaved.at(-1)![1]}; put back at the end)`);
    }
    for (const [node, ref] of Object.entries(s.scenario.rulesets ?? {})) {
      const file = typeof ref === "string" ? ref : ref.file;
      await lab.loadRuleset(node, s.path(file), {
        backend: typeof ref === "string" ? undefined : ref.backend,
      });
    }
    for (const [node, setup] of Object.entries(s.scenario.setup ?? {})) {
      for (const [key, value] of Object.entries(setup.sysctls ?? {}))
        await lab.setSysctl(node, key, String(value));
      for (const cmd of setup.commands ?? []) {
        const r = await lab.exec(node, cmd);
        if (r.exitCode !== 0)
          throw new Error(`[${node}] ${cmd.join(" ")} exited ${r.exitCode}: ${r.stderr.trim()}`);
      }
    }
    // A clean slate per scenario: counters zeroed, conntrack emptied.
    await Promise.all(
      firewalls.map((n) =>
        lab.exec(n, [
          "sh",
          "-c",
          'b=$(fwlab-ruleset backend); [ "$b" = nft ] || $b -Z; conntrack -F 2>/dev/null; true',
        ]),
      ),
    );
    await watchers.rulesetsChanged();
    const ctx: StepContext = {
      ...probes,
      lab,
      scenarioSlug: slug(relative(projectRoot(), s.file).replace(/\.scenario\.ya?ml$/, "")),
      bundleDir: opts.bundleDir ?? "fwlab-results",
      firewalls,
      events,
      watchers,
      signal: opts.signal,
      agent,
      path: s.path,
    };
    const list = s.scenario.steps;
    for (let i = 0; i < list.length; ) {
      if (opts.signal?.aborted) {
        error = "aborted";
        break;
      }
      // Consecutive single-flow probes that assert no evidence cannot confuse each other's
      // results: they run side by side (a blocked one waits for its timeout, the others need not).
      let end = i;
      while (end < list.length && end - i < BATCH && batchable(list[end]!)) end++;
      if (end - i > 1) {
        const batch = list.slice(i, end) as ProbeStep[];
        const rs = await Promise.all(
          batch.map((step, k) =>
            deaths.run(step, i + k, () => runProbeStep(ctx, step, i + k, batch.length - 1)),
          ),
        );
        for (const r of rs) {
          steps.push(r);
          opts.onStep?.(s, r);
        }
        i = end;
        continue;
      }
      const step = list[i]!;
      const r = await deaths.run(step, i, async () =>
        "probe" in step
          ? await runProbeStep(ctx, step, i)
          : "load" in step
            ? await runLoadStep(ctx, step, i)
            : "sysctl" in step
              ? await runSysctlStep(ctx, step, i)
              : await runExecStep(ctx, step, i),
      );
      steps.push(r);
      opts.onStep?.(s, r);
      i++;
    }
  } catch (err) {
    error = (err as Error).message;
  } finally {
    const problems: string[] = [];
    for (const [key, old] of hostSaved.reverse())
      await hostSysctl(key, old).catch((err: Error) =>
        problems.push(`host: could not put back ${key}=${old}: ${err.message}`),
      );
    problems.push(...(await restoreState(lab, saved)));
    // The lab is not as the scenario found it: that fails the scenario, saying what is left.
    if (problems.length) error = [error, ...problems].filter(Boolean).join("; ");
  }
  const durationMs = performance.now() - t0;
  const incidents = deaths.incidents();
  return {
    file: s.file,
    name,
    lab: lab.name,
    steps,
    passed: !error && steps.every((x) => x.passed),
    durationMs,
    error,
    ...(incidents.length ? { incidents } : {}),
  };
}

const BATCH = 8;
const FIRST_PORT = 61000;
const PORTS = 4000;
const batchable = (step: Step): step is ProbeStep =>
  "probe" in step && !step.evidence && probeKind(step).singleFlow;
