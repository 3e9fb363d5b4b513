import { availableParallelism } from "node:os";
import { HostsBusy } from "../errors.ts";
import { EventBus } from "../evidence/event-bus.ts";
import type { EvidenceEvent } from "../evidence/events.ts";
import { watchKernelLog } from "../evidence/kernel-log-source.ts";
import type { NflogSource } from "../evidence/nflog-source.ts";
import { startLabSpec } from "../lab/start-lab.ts";
import { StartedLab } from "../lab/started-lab.ts";
import { connectEngine, type Engine } from "../runtime/engine.ts";
import { hostChoice } from "../runtime/engine-endpoint.ts";
import { isMultiHost, placeLab } from "../topology/place-lab.ts";
import { inPool } from "../util/in-pool.ts";
import { type Progress, silent } from "../util/progress.ts";
import { FlowVerdicts } from "./flow-verdicts.ts";
import { LabRun } from "./lab-run.ts";
import { recordLastRuns } from "./last-run.ts";
import { type LoadedScenario, readScenarioFile } from "./read-scenario-file.ts";
import { runScenario } from "./run-scenario.ts";
import { PORT_BLOCK } from "./run-step.ts";
import { recoverDeadRun, restoreState } from "./saved-state.ts";
import type { ScenarioResult, StepResult } from "./step-result.ts";

export interface RunOptions {
  readonly labName?: string;
  /** Let lab files grant what reaches beyond the lab (`--allow-unsafe`). */
  readonly allowUnsafe?: boolean;
  readonly signal?: AbortSignal;
  /** Where failure bundles go (default fwlab-results/). */
  readonly bundleDir?: string;
  /** Run scenarios marked optIn (they change the host). */
  readonly optIn?: boolean;
  readonly progress?: Progress;
  readonly onStep?: (scenario: LoadedScenario, step: StepResult) => void;
  /**
   * How many labs' scenarios run at the same time (`--jobs`); default one per two cores of this
   * machine (labsAtOnce()). 1: no step shares the machine with another lab's.
   */
  readonly jobs?: number;
  /** The labs whose scenarios run at the same time (none: one at a time), once, before the first starts. */
  readonly onPlan?: (labs: readonly string[]) => void;
  /** The engine its labs run on (default: the one the environment names; runtime/engine.ts). */
  readonly engine?: Engine;
  /** Engines to spread the labs it starts over (`--hosts`; README "Several hosts"). */
  readonly hosts?: readonly string[];
  /** Every evidence event of the run as it comes (the dashboard's run worker forwards some). */
  readonly onEvent?: (e: EvidenceEvent) => void;
  /** Where NFLOG lines come from (the dashboard's run worker: the dashboard's listeners). */
  readonly nflog?: NflogSource;
}

/**
 * Runs scenario files: all are read and checked first (nothing runs if one is invalid), each
 * lab they name is attached or started once, and every scenario leaves its lab as it found it
 * (rulesets and sysctls put back). Labs the run started are stopped at its end.
 *
 * Scenarios of different labs may run at the same time (`jobs`), each lab's in file order: labs
 * share no node, network or ruleset. The seed pack's three labs took 30 s so on two cores, 40 s
 * one after another; but a step's own time then grows with the others' load, and five such runs
 * at once on two cores starved probe agents of CPU: the default is one lab per two cores. A
 * scenario that changes the host (optIn, `host.sysctls`) runs alone, after the others. Results
 * come in file order.
 */
export async function runScenarios(
  files: readonly string[],
  opts: RunOptions = {},
): Promise<ScenarioResult[]> {
  const loaded = files.map((f) =>
    readScenarioFile(f, { labName: opts.labName, allowUnsafe: opts.allowUnsafe }),
  );
  const engine = opts.engine ?? (await connectEngine());
  const progress = opts.progress ?? silent;
  const bus = new EventBus(200_000);
  if (opts.onEvent) bus.subscribe(opts.onEvent);
  const flows = new FlowVerdicts(bus);
  // fwlab's probes bind ports above the kernel's ephemeral range (32768-60999), so no other
  // socket shares them; a random start keeps back-to-back runs off each other's conntrack
  // entries. Each probe gets a block (FTP's data connections use the ports after its first).
  let nextBlock = Math.floor(Math.random() * (PORTS / PORT_BLOCK));
  const sourcePorts = () => {
    const first = FIRST_PORT + (nextBlock++ % (PORTS / PORT_BLOCK)) * PORT_BLOCK;
    return Array.from({ length: PORT_BLOCK }, (_, i) => first + i);
  };
  const kernel = await watchKernelLog(engine, bus);
  const labs = new Map<string, LabRun>();
  /** Multi-host labs that could not start in this run, and why. */
  const unstartable = new Map<string, string>();
  const results: (ScenarioResult | undefined)[] = loaded.map(() => undefined);
  const runs = (s: LoadedScenario) => !(s.scenario.optIn && !opts.optIn);
  const alone = (s: LoadedScenario) => Object.keys(s.scenario.host?.sysctls ?? {}).length > 0;
  // What each lab does, in the order it does it: its scenarios that share the host, then those
  // that change it (run alone, below).
  const order = [
    ...loaded.flatMap((s, i) => (runs(s) && !alone(s) ? [i] : [])),
    ...loaded.flatMap((s, i) => (runs(s) && alone(s) ? [i] : [])),
  ];
  for (const [i, s] of loaded.entries()) {
    if (!runs(s))
      results[i] = {
        file: s.file,
        name: s.scenario.name,
        lab: s.lab.name,
        steps: [],
        passed: true,
        durationMs: 0,
        skipped: "opt-in scenario (run with --opt-in)",
      };
  }
  // Ends every lab's run early once one lab could not start on a single engine.
  let failed: { err: unknown } | undefined;

  /** The lab's run: attached, or started, once per run. */
  const labRun = async (s: LoadedScenario, progress: Progress): Promise<LabRun | undefined> => {
    const known = labs.get(s.lab.name);
    if (known || unstartable.has(s.lab.name)) return known;
    const spec = placeLab(s.lab, opts.hosts);
    try {
      // A lab placed on several hosts is looked for through its first one.
      const via = isMultiHost(spec) ? await connectEngine(hostChoice(spec.hosts![0]!)) : engine;
      const found = await StartedLab.attach(via, s.lab.name).catch(() => undefined);
      const up = !!found && found.nodes.length === s.lab.nodes.length && (await found.ready());
      const start = () => startLabSpec(spec, { engine: via, progress, signal: opts.signal });
      // Many labs starting at once on busy hosts can run out of time; by the second try the
      // others' starts are done (it cleans what the first left).
      const lab = up
        ? found!
        : await start().catch((err: unknown) => {
            if (!(err instanceof HostsBusy) || opts.signal?.aborted) throw err;
            progress(`lab ${s.lab.name}: ${err.message.split("\n")[0]}; starting it once more`);
            return start();
          });
      if (up) await recoverDeadRun(lab, progress);
      await kernel.follow(lab.engines.values());
      const run = await LabRun.start(lab, !up, bus, kernel, { nflog: opts.nflog });
      labs.set(s.lab.name, run);
      return run;
    } catch (err) {
      // On one engine a lab that cannot start ends the run; across hosts, one host that went
      // away fails only the scenarios of the labs it was to hold.
      if (!isMultiHost(spec)) throw err;
      unstartable.set(s.lab.name, (err as Error).message);
      return undefined;
    }
  };

  /** Runs loaded[i] in its lab; `events` holds what the bus brings meanwhile for that lab. */
  const runOne = async (i: number, events: EvidenceEvent[], progress: Progress): Promise<void> => {
    const s = loaded[i]!;
    const run = await labRun(s, progress);
    const why = unstartable.get(s.lab.name);
    if (!run || why !== undefined) {
      progress(`Scenario ${s.scenario.name}: lab ${s.lab.name} could not start: ${why}`);
      results[i] = {
        file: s.file,
        name: s.scenario.name,
        lab: s.lab.name,
        steps: [],
        passed: false,
        durationMs: 0,
        error: `lab ${s.lab.name} could not start: ${why}`,
      };
      return;
    }
    // The lab's next scenario in this run: the rulesets it loads need not be put back first.
    const next = order.slice(order.indexOf(i) + 1).find((j) => loaded[j]!.lab.name === s.lab.name);
    events.length = 0;
    results[i] = await runScenario(
      s,
      run,
      events,
      { flows, sourcePorts },
      {
        ...opts,
        progress,
        nextLoads: new Set(
          Object.keys((next === undefined ? undefined : loaded[next])?.scenario.rulesets ?? {}),
        ),
      },
    );
  };

  /** Runs scenarios one after another, with an evidence list of their lab's own. */
  const inTurn = async (indexes: readonly number[], lab?: string, tag = false): Promise<void> => {
    const events: EvidenceEvent[] = [];
    // Lines of labs that run at the same time say whose they are.
    const say: Progress = tag ? (line) => progress(`[${lab}] ${line}`) : progress;
    // Events that name no lab (a loss, a notice) may concern any lab: every list gets them.
    const sub = bus.subscribe(
      (e) => events.push(e),
      (e) => lab === undefined || !("lab" in e) || e.lab === undefined || e.lab === lab,
    );
    try {
      for (const i of indexes) {
        if (opts.signal?.aborted || failed) return;
        await runOne(i, events, say);
      }
    } catch (err) {
      failed ??= { err };
    } finally {
      sub.close();
    }
  };

  try {
    const shared = order.filter((i) => !alone(loaded[i]!));
    const byLab = new Map<string, number[]>();
    for (const i of shared) byLab.set(loaded[i]!.lab.name, [...(byLab.get(loaded[i]!.lab.name) ?? []), i]);
    const jobs = Math.min(byLab.size, Math.max(1, opts.jobs ?? labsAtOnce()));
    opts.onPlan?.(jobs > 1 ? [...byLab.keys()] : []);
    await inPool([...byLab], jobs, ([lab, indexes]) => inTurn(indexes, lab, jobs > 1));
    await inTurn(order.filter((i) => alone(loaded[i]!)));
    if (failed) throw failed.err;
  } finally {
    // An aborted run may leave rulesets a next scenario was to replace: put them back.
    for (const run of labs.values()) {
      if (!run.kept) continue;
      const { problems } = await restoreState(
        run.lab,
        { rulesets: run.kept, sysctls: [] },
        { exec: (n) => run.exec(n) },
      );
      for (const p of problems) progress(p);
    }
    await Promise.all([...labs.values()].map((l) => l.stop()));
    await kernel.stop();
    flows.close();
    for (const { lab, started } of labs.values()) if (started) await lab.stop();
  }
  // An aborted run ends with the scenarios it ran.
  const done = results.filter((r): r is ScenarioResult => r !== undefined);
  try {
    recordLastRuns(done);
  } catch (err) {
    progress(`the run's results could not be kept as each lab's last run: ${(err as Error).message}`);
  }
  return done;
}

/** The labs a run works on at once unless told (`--jobs`): one per two cores of this machine. */
export const labsAtOnce = (): number => Math.max(1, Math.floor(availableParallelism() / 2));

const FIRST_PORT = 61000;
const PORTS = 4000;
