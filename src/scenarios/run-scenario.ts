import { relative } from "node:path";
import type { EvidenceEvent } from "../evidence/events.ts";
import { probeKind } from "../probes/index.ts";
import { hostSysctl } from "../runtime/host-kernel.ts";
import type { Progress } from "../util/progress.ts";
import { projectRoot } from "../util/project-root.ts";
import { slug } from "./failure-bundle.ts";
import type { LabRun } from "./lab-run.ts";
import type { LoadedScenario } from "./read-scenario-file.ts";
import { runExecStep, runLoadStep, runProbeStep, runSysctlStep, type StepContext } from "./run-step.ts";
import { restoreState, saveState } from "./saved-state.ts";
import type { ProbeStep, Step } from "./scenario-schema.ts";
import type { ScenarioResult, StepResult } from "./step-result.ts";

export interface ScenarioOptions {
  readonly signal?: AbortSignal;
  readonly bundleDir?: string;
  readonly progress: Progress;
  readonly onStep?: (scenario: LoadedScenario, step: StepResult) => void;
  /**
   * The firewalls whose ruleset the next scenario of this run loads anyway: theirs are left for
   * it to replace, not put back first (each load costs a few hundred milliseconds).
   */
  readonly nextLoads: ReadonlySet<string>;
}

/**
 * Runs one scenario in a lab: rulesets loaded all or nothing, setup, a clean slate (counters
 * zeroed, conntrack emptied), the steps in order, and the lab put back as it was found (rulesets,
 * sysctls, host settings). What cannot be put back fails the scenario, saying so.
 */
export async function runScenario(
  s: LoadedScenario,
  run: LabRun,
  events: EvidenceEvent[],
  probes: Pick<StepContext, "flows" | "sourcePorts">,
  opts: ScenarioOptions,
): Promise<ScenarioResult> {
  const t0 = performance.now();
  const { lab, watchers } = run;
  const firewalls = run.firewalls;
  const exec = (node: string) => run.exec(node);
  opts.progress(`Scenario ${s.scenario.name} (${relative(projectRoot(), s.file)})`);
  const saved = await saveState(lab, firewalls, s, exec, run.kept);
  run.kept = saved.rulesets;
  const steps: StepResult[] = [];
  let error: string | undefined;
  const hostSaved: [string, string, string][] = [];
  let stepsMs = 0;
  try {
    for (const [key, value] of Object.entries(s.scenario.host?.sysctls ?? {})) {
      // On every host of the lab, one after another (hosts that share a kernel, as a simulated
      // cluster's do, see the value the one before set: put back in reverse order, all is as found).
      for (const [name, e] of lab.engines) {
        hostSaved.push([name, key, await hostSysctl(e.host, key, String(value))]);
        opts.progress(
          `  host${lab.engines.size > 1 ? ` ${name}` : ""}: ${key}=${value} (was ${hostSaved.at(-1)![2]}; put back at the end)`,
        );
      }
    }
    for (const [node, ref] of Object.entries(s.scenario.rulesets ?? {})) {
      const loaded = await lab.loadRuleset(node, s.path(typeof ref === "string" ? ref : ref.file), {
        backend: typeof ref === "string" ? undefined : ref.backend,
        ...(typeof ref !== "string" && ref.ipv6 ? { ipv6: s.path(ref.ipv6) } : {}),
        via: exec(node),
        ownTables: watchers.ownTables(node),
        listing: true,
      });
      for (const note of loaded.notes) opts.progress(`  ${node}: ${note}`);
      await watchers.rulesetLoaded(node, loaded);
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
    // Setup commands may have changed a ruleset behind fwlab's back.
    if (Object.values(s.scenario.setup ?? {}).some((x) => x.commands?.length))
      await watchers.rulesetsChanged();
    // A clean slate per scenario: counters zeroed, conntrack emptied.
    await watchers.cleanSlate();
    const ctx: StepContext = {
      ...probes,
      lab,
      scenarioSlug: slug(relative(projectRoot(), s.file).replace(/\.scenario\.ya?ml$/, "")),
      bundleDir: opts.bundleDir ?? "fwlab-results",
      firewalls,
      events,
      watchers,
      signal: opts.signal,
      agent: (node) => run.agent(node),
      exec,
      path: s.path,
    };
    const t1 = performance.now();
    error = await runSteps(s, ctx, run, steps, opts);
    stepsMs = performance.now() - t1;
  } catch (err) {
    error = (err as Error).message;
  } finally {
    const problems: string[] = [];
    for (const [name, key, old] of hostSaved.reverse())
      await hostSysctl(lab.engines.get(name)!.host, key, old).catch((err: Error) =>
        problems.push(`host ${name}: could not put back ${key}=${old}: ${err.message}`),
      );
    // A scenario that did not end well puts everything back: its successor may not load at all.
    const keep = error === undefined ? opts.nextLoads : new Set<string>();
    const restored = await restoreState(lab, saved, {
      exec,
      ownTables: (n) => watchers.ownTables(n),
      keep,
    });
    run.kept = restored.kept.length ? restored.kept : undefined;
    problems.push(...restored.problems);
    await Promise.all([...restored.listings].map(([n, listing]) => watchers.rulesetLoaded(n, listing)));
    // The lab is not as the scenario found it: that fails the scenario, saying what is left.
    if (problems.length) error = [error, ...problems].filter(Boolean).join("; ");
  }
  const incidents = run.deaths.incidents();
  return {
    file: s.file,
    name: s.scenario.name,
    lab: lab.name,
    steps,
    passed: !error && steps.every((x) => x.passed),
    durationMs: performance.now() - t0,
    stepsMs,
    error,
    ...(incidents.length ? { incidents } : {}),
  };
}

const BATCH = 8;
const batchable = (step: Step): step is ProbeStep =>
  "probe" in step && !step.evidence && probeKind(step).singleFlow(step);

/** The steps in order; says why it stopped early, if it did. */
async function runSteps(
  s: LoadedScenario,
  ctx: StepContext,
  run: LabRun,
  steps: StepResult[],
  opts: ScenarioOptions,
): Promise<string | undefined> {
  const list = s.scenario.steps;
  for (let i = 0; i < list.length; ) {
    if (opts.signal?.aborted) return "aborted";
    // Consecutive single-flow probes that assert no evidence cannot confuse each other's
    // results: they run side by side (a blocked one waits for its timeout, the others need not).
    let end = i;
    while (end < list.length && end - i < BATCH && batchable(list[end]!)) end++;
    if (end - i > 1) {
      const batch = list.slice(i, end) as ProbeStep[];
      const rs = await Promise.all(
        batch.map((step, k) =>
          run.deaths.run(step, i + k, () => runProbeStep(ctx, step, i + k, batch.length - 1)),
        ),
      );
      for (const r of rs) {
        steps.push(r);
        opts.onStep?.(s, r);
      }
      if (rs.some((r) => !r.passed)) ctx.watchers.counters.forget();
      i = end;
      continue;
    }
    const step = list[i]!;
    const r = await run.deaths.run(step, i, async () =>
      "probe" in step
        ? await runProbeStep(ctx, step, i)
        : "load" in step
          ? await runLoadStep(ctx, step, i)
          : "sysctl" in step
            ? await runSysctlStep(ctx, step, i)
            : await runExecStep(ctx, step, i),
    );
    // The next probe's counters before are the last one's after only while nothing else ran
    // (a command, a sysctl: rules and counters may have changed) and nothing failed (a node
    // that died and came back counts from zero). A load that loaded read its rules back.
    const known = "probe" in step ? r.passed : "load" in step && r.observed === "loads";
    if (!known) ctx.watchers.counters.forget();
    steps.push(r);
    opts.onStep?.(s, r);
    i++;
  }
  return undefined;
}
