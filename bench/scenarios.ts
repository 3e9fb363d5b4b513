/**
 * The seed pack, fwlab's way and the simple way, in the same run:
 *  - fwlab: `runScenarios(scenarios/)` (probe agents, evidence, counters, bundles);
 *  - simple: the same scenarios, rulesets and steps, but one `docker exec` of the client program
 *    per probe, with the fixed client timeouts a script would use (5 s) for blocked ones.
 * The pack runs `fwlab run`'s default way (labs at once: one per two cores, so one on two
 * cores) for the headline figures, and again with its three labs at once (`--jobs 3`) in the
 * same round: its time and per-step figures are printed beside (steps there share the CPU).
 * Alternately, BENCH_ROUNDS (default 5) rounds each; BENCH_SIMPLE=0 leaves the simple way out
 * (bench/remote.ts, which wants the probe figures only). Prints the medians both ways and the
 * ratio; the median overhead a probe adds beyond its own network work (time at fwlab minus time
 * inside the node's agent); and the median time from sending to a `timeout` verdict for probes
 * a firewall dropped (decided by its trace).
 *
 *   BENCH_ROUNDS=5 node --import tsx bench/scenarios.ts
 */

import { connectEngine, removeLab, StartedLab, startLabSpec } from "../src/index.ts";
import { findScenarios } from "../src/scenarios/find-scenarios.ts";
import { readScenarioFile } from "../src/scenarios/read-scenario-file.ts";
import { labsAtOnce, runScenarios } from "../src/scenarios/run-scenarios.ts";
import { resolveTarget } from "../src/scenarios/run-step.ts";
import type { ProbeStep } from "../src/scenarios/scenario-schema.ts";
import { median, saveResults } from "./lib.ts";

const FIXED_TIMEOUT_S = 5;
// Across hosts (FWLAB_HOSTS, bench/multihost.ts) a node's IPv6 neighbours on an overlay are fixed
// (README "Several hosts"): the scenario that shows dropped neighbour discovery breaking IPv6 is
// one host's, as in test/integration/multihost.test.ts.
const files = findScenarios("scenarios").filter(
  (f) => !(process.env.FWLAB_HOSTS && f.endsWith("ipv6/neighbour-discovery.scenario.yml")),
);
const engine = await connectEngine();

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SIMPLE = process.env.BENCH_SIMPLE !== "0";
// A lab of its own (the default lab file under another name). Both ways run the pack in labs that
// are already up (lab lifecycle has a benchmark of its own: bench/lab-lifecycle.ts); the labs are
// started again before each way, since the simple way leaves rulesets and sysctls as its last
// step set them.
const LAB = "benchpack";
const specs = [
  ...new Map(
    files.map((f) => readScenarioFile(f, { labName: LAB }).lab).map((l) => [l.name, l] as const),
  ).values(),
];
const freshLabs = async () => {
  for (const spec of specs) {
    await removeLab(engine, spec.name);
    await startLabSpec(spec, { engine });
  }
};

/** fwlab's way: the whole pack through the runner (`jobs`: its labs at once; default one per two cores). */
async function fwlabWay(jobs?: number) {
  const t0 = performance.now();
  const results = await runScenarios(files, { engine, labName: LAB, jobs });
  return { ms: performance.now() - t0, results };
}

/** The simple way: same labs, rulesets and steps; a docker exec per probe, fixed timeouts. */
async function simpleWay() {
  const t1 = performance.now();
  const labs = new Map<string, StartedLab>();
  let steps = 0;
  for (const file of files) {
    const s = readScenarioFile(file, { labName: LAB });
    if (s.scenario.optIn) continue;
    let lab = labs.get(s.lab.name);
    if (!lab) {
      lab = await startLabSpec(s.lab, { engine });
      labs.set(s.lab.name, lab);
    }
    for (const [node, ref] of Object.entries(s.scenario.rulesets ?? {})) {
      await lab.loadRuleset(node, s.path(typeof ref === "string" ? ref : ref.file), {
        backend: typeof ref === "string" ? undefined : ref.backend,
      });
    }
    for (const [node, setup] of Object.entries(s.scenario.setup ?? {})) {
      for (const [k, v] of Object.entries(setup.sysctls ?? {})) await lab.setSysctl(node, k, String(v));
    }
    for (const step of s.scenario.steps) {
      steps++;
      if ("probe" in step) await lab.exec(step.from, naiveCommand(lab, step));
      else if ("load" in step)
        await lab
          .loadRuleset(step.load.node, s.path(step.load.file), { backend: step.load.backend })
          .catch(() => {});
      else if ("sysctl" in step)
        for (const [k, v] of Object.entries(step.sysctl.set))
          await lab.setSysctl(step.sysctl.node, k, String(v));
      else await lab.exec(step.exec.node, step.exec.command);
    }
  }
  return { ms: performance.now() - t1, steps };
}

/** Per-step figures of a pass: probe overhead, drop verdicts, load steps, scenario overhead. */
class StepFigures {
  readonly overheads: number[] = [];
  readonly loadSteps: number[] = [];
  readonly scenarioOverheads: number[] = [];
  readonly drops: number[] = [];
  fallbacks = 0;
  add(results: Awaited<ReturnType<typeof fwlabWay>>["results"]) {
    for (const r of results) if (!r.skipped) this.scenarioOverheads.push(r.durationMs - (r.stepsMs ?? 0));
    for (const st of results.flatMap((r) => r.steps)) {
      if (st.kind === "load") this.loadSteps.push(st.durationMs);
      if (st.probeMs !== undefined && !st.detail.startsWith("dropped by"))
        this.overheads.push(st.verdictMs! - st.probeMs);
      // From sending to the verdict: the firewall's trace decided, or the client's timeout did.
      if (st.observed === "timeout" && st.detail.startsWith("dropped by")) this.drops.push(st.verdictMs!);
      else if (st.observed === "timeout") this.fallbacks++;
    }
  }
}

// Alternately, so both ways see the same machine.
const fw: number[] = [];
const fwJobs: number[] = [];
const simple: number[] = [];
const defaultSteps = new StepFigures();
const atOnceSteps = new StepFigures();
let lastResults: Awaited<ReturnType<typeof fwlabWay>>["results"] = [];
let simpleSteps = 0;
for (let round = 1; round <= ROUNDS; round++) {
  await freshLabs();
  const a = await fwlabWay();
  lastResults = a.results;
  fw.push(a.ms);
  defaultSteps.add(a.results);
  await freshLabs();
  const atOnce = await fwlabWay(3);
  fwJobs.push(atOnce.ms);
  atOnceSteps.add(atOnce.results);
  if (!SIMPLE) {
    process.stderr.write(
      `round ${round}/${ROUNDS}: fwlab ${(a.ms / 1000).toFixed(1)} s (--jobs 3: ${(atOnce.ms / 1000).toFixed(1)} s)\n`,
    );
    continue;
  }
  await freshLabs();
  const b = await simpleWay();
  simple.push(b.ms);
  simpleSteps = b.steps;
  process.stderr.write(
    `round ${round}/${ROUNDS}: fwlab ${(a.ms / 1000).toFixed(1)} s (--jobs 3: ${(atOnce.ms / 1000).toFixed(1)} s), simple ${(b.ms / 1000).toFixed(1)} s\n`,
  );
}
// The floor a load stands on: one docker exec of iptables-save in the firewall, same run.
const benchLab = await StartedLab.attach(engine, LAB).catch(() => undefined);
const execSave: number[] = [];
for (let i = 0; i < 10 && benchLab; i++) {
  const t = performance.now();
  await benchLab.exec("fw", ["iptables-save"]);
  execSave.push(performance.now() - t);
}
const fwlabMs = median(fw);
const simpleMs = median(simple);
const failed = lastResults.flatMap((r) =>
  r.steps.filter((s) => !s.passed).map((s) => ({ ...s, scenario: r.name })),
);
const ratio = simpleMs / fwlabMs;
const execSaveMs = execSave.length ? median(execSave) : Number.NaN;
console.log(
  `\nseed pack: ${lastResults.length} scenarios, ${lastResults.reduce((n, r) => n + r.steps.length, 0)} steps, ${failed.length} failed; medians of ${ROUNDS} rounds`,
);
// A failed step is a wrong verdict, not a slow one: say which, with its bundle.
for (const s of failed)
  console.log(
    `  FAILED ${s.scenario} step ${s.index} ${s.name}: ${s.reason ?? s.observed}${s.bundle ? ` (${s.bundle})` : ""}`,
  );
console.log(
  `  fwlab run              ${(fwlabMs / 1000).toFixed(1)} s  (${labsAtOnce()} lab(s) at a time here; --jobs 3: ${(median(fwJobs) / 1000).toFixed(1)} s)`,
);
if (SIMPLE) {
  console.log(
    `  simple way             ${(simpleMs / 1000).toFixed(1)} s  (${simpleSteps} steps: docker exec per probe, ${FIXED_TIMEOUT_S} s client timeouts)`,
  );
  console.log(
    `  speed-up               ${ratio.toFixed(2)}x  (target >= 10; --jobs 3: ${(simpleMs / median(fwJobs)).toFixed(2)}x)`,
  );
}
const report = (f: StepFigures, label: string) => {
  const figures = {
    overhead: median(f.overheads),
    drop: median(f.drops),
    load: median(f.loadSteps),
    scenario: median(f.scenarioOverheads),
  };
  console.log(`  per step, ${label}:`);
  console.log(
    `    probe overhead       median ${figures.overhead.toFixed(2)} ms over ${f.overheads.length} probes (target <= 5 ms; a docker exec costs ~43 ms)`,
  );
  console.log(
    `    drop verdicts        median ${figures.drop.toFixed(1)} ms from sending to timeout over ${f.drops.length} dropped probes (target <= 250); ${f.fallbacks} timeouts left to the client (drops no firewall traced)`,
  );
  console.log(
    `    load steps           median ${Math.round(figures.load)} ms over ${f.loadSteps.length} (target <= 300, and <= 3x a docker exec of iptables-save: ${Math.round(execSaveMs)} ms here, ratio ${(figures.load / execSaveMs).toFixed(2)})`,
  );
  console.log(
    `    scenario overhead    median ${Math.round(figures.scenario)} ms: wall time minus steps (loads, setup, putting back; target <= 500)`,
  );
  return figures;
};
const defaults = report(defaultSteps, "the default way (the figures saved)");
const jobs3 = report(atOnceSteps, "--jobs 3 (steps share the CPU with the other labs')");
for (const spec of specs) await removeLab(engine, spec.name);
await saveResults({
  load_step_ms: Math.round(defaults.load),
  exec_iptables_save_ms: Math.round(execSaveMs),
  load_ratio_vs_exec: Number((defaults.load / execSaveMs).toFixed(2)),
  scenario_overhead_ms: Math.round(defaults.scenario),
  pack_ms: Math.round(fwlabMs),
  pack_jobs3_ms: Math.round(median(fwJobs)),
  ...(SIMPLE
    ? {
        pack_simple_ms: Math.round(simpleMs),
        pack_speedup_vs_naive: Number(ratio.toFixed(2)),
        pack_speedup_jobs3_vs_naive: Number((simpleMs / median(fwJobs)).toFixed(2)),
      }
    : {}),
  probe_overhead_ms: Number(defaults.overhead.toFixed(2)),
  drop_verdict_ms: Number(defaults.drop.toFixed(1)),
  drop_verdicts_traced: defaultSteps.drops.length,
  drop_verdicts_client_timeout: defaultSteps.fallbacks,
  probe_overhead_jobs3_ms: Number(jobs3.overhead.toFixed(2)),
  scenario_overhead_jobs3_ms: Math.round(jobs3.scenario),
});

/** What a shell script would run for the probe, with a fixed timeout. */
function naiveCommand(lab: StartedLab, step: ProbeStep): string[] {
  const to = resolveTarget(lab, step.from, "to" in step ? step.to : step.server);
  const t = String(FIXED_TIMEOUT_S);
  switch (step.probe) {
    case "ping":
      return ["ping", "-c", "1", "-W", t, to];
    case "tcp":
      return [
        "nc",
        "-z",
        "-w",
        t,
        ...(step.sourcePort ? ["-p", String(step.sourcePort)] : []),
        to,
        String(step.port),
      ];
    case "udp":
      return [
        "sh",
        "-c",
        `echo probe | nc -u -w ${t} ${step.sourcePort ? `-p ${step.sourcePort}` : ""} ${to} ${step.port}`,
      ];
    case "dns":
      return ["dig", `+time=${t}`, "+tries=1", `@${to}`, step.query, ...(step.tcp ? ["+tcp"] : [])];
    case "ssh":
      return [
        "ssh",
        "-o",
        `ConnectTimeout=${t}`,
        "-o",
        "BatchMode=yes",
        "-o",
        "StrictHostKeyChecking=no",
        "-i",
        "/run/fwlab/probe-key",
        `student@${to}`,
        "true",
      ];
    case "ftp":
      return [
        "curl",
        "-s",
        "--connect-timeout",
        t,
        "-m",
        String(FIXED_TIMEOUT_S * 2),
        ...(step.mode === "active" ? ["--ftp-port", "-"] : []),
        "--user",
        "student:student",
        `ftp://${to}/files/hello.txt`,
      ];
    case "http":
      return [
        "curl",
        "-sk",
        "--connect-timeout",
        t,
        "-m",
        String(FIXED_TIMEOUT_S * 2),
        `${step.https ? "https" : "http"}://${to}${step.port ? `:${step.port}` : ""}${step.path ?? "/"}`,
      ];
    case "scan":
      return [
        "nmap",
        "-n",
        "-Pn",
        `-s${{ syn: "S", null: "N", xmas: "X", ack: "A", fin: "F", connect: "T", udp: "U" }[step.technique]}`,
        "-p",
        Object.keys(step.ports).join(","),
        to,
      ];
  }
}
