import { EventBus } from "../evidence/event-bus.ts";
import type { EvidenceEvent } from "../evidence/events.ts";
import { watchKernelLog } from "../evidence/kernel-log-source.ts";
import { startLabSpec } from "../lab/start-lab.ts";
import { StartedLab } from "../lab/started-lab.ts";
import { connectEngine, type Engine } from "../runtime/engine.ts";
import { hostChoice } from "../runtime/engine-endpoint.ts";
import { isMultiHost, placeLab } from "../topology/place-lab.ts";
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
  /** The engine its labs run on (default: the one the environment names; runtime/engine.ts). */
  readonly engine?: Engine;
  /** Engines to spread the labs it starts over (`--hosts`; README "Several hosts"). */
  readonly hosts?: readonly string[];
  /** Every evidence event of the run as it comes (the dashboard's run worker forwards some). */
  readonly onEvent?: (e: EvidenceEvent) => void;
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
  const loaded = files.map((f) =>
    readScenarioFile(f, { labName: opts.labName, allowUnsafe: opts.allowUnsafe }),
  );
  const engine = opts.engine ?? (await connectEngine());
  const progress = opts.progress ?? silent;
  const bus = new EventBus(200_000);
  const events: EvidenceEvent[] = [];
  bus.subscribe((e) => events.push(e));
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
  const results: ScenarioResult[] = [];
  const runs = (s: LoadedScenario) => !(s.scenario.optIn && !opts.optIn);
  try {
    for (const [i, s] of loaded.entries()) {
      if (opts.signal?.aborted) break;
      if (!runs(s)) {
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
      let run = labs.get(s.lab.name);
      const spec = placeLab(s.lab, opts.hosts);
      if (!run && !unstartable.has(s.lab.name)) {
        try {
          // A lab placed on several hosts is looked for through its first one.
          const via = isMultiHost(spec) ? await connectEngine(hostChoice(spec.hosts![0]!)) : engine;
          const found = await StartedLab.attach(via, s.lab.name).catch(() => undefined);
          const up = !!found && found.nodes.length === s.lab.nodes.length && (await found.ready());
          const lab = up ? found! : await startLabSpec(spec, { engine: via, progress, signal: opts.signal });
          if (up) await recoverDeadRun(lab, progress);
          await kernel.follow(lab.engines.values());
          run = await LabRun.start(lab, !up, bus, kernel);
          labs.set(s.lab.name, run);
        } catch (err) {
          // On one engine a lab that cannot start ends the run; across hosts, one host that went
          // away fails only the scenarios of the labs it was to hold.
          if (!isMultiHost(spec)) throw err;
          unstartable.set(s.lab.name, (err as Error).message);
        }
      }
      const why = unstartable.get(s.lab.name);
      if (!run || why !== undefined) {
        progress(`Scenario ${s.scenario.name}: lab ${s.lab.name} could not start: ${why}`);
        results.push({
          file: s.file,
          name: s.scenario.name,
          lab: s.lab.name,
          steps: [],
          passed: false,
          durationMs: 0,
          error: `lab ${s.lab.name} could not start: ${why}`,
        });
        continue;
      }
      // The next scenario of this lab in the run: the rulesets it loads need not be put back first.
      const next = loaded.slice(i + 1).find((x) => x.lab.name === s.lab.name && runs(x));
      events.length = 0;
      results.push(
        await runScenario(
          s,
          run,
          events,
          { flows, sourcePorts },
          {
            ...opts,
            progress,
            nextLoads: new Set(Object.keys(next?.scenario.rulesets ?? {})),
          },
        ),
      );
    }
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
  try {
    recordLastRuns(results);
  } catch (err) {
    progress(`the run's results could not be kept as each lab's last run: ${(err as Error).message}`);
  }
  return results;
}

const FIRST_PORT = 61000;
const PORTS = 4000;
