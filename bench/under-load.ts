/**
 * Verdicts under load: the seed pack alone, then the same pack while 4 other copies of it run
 * at once (5 labs on the machine), 3 rounds. Every step's verdict and outcome must be the run
 * alone's: `verdict_changes_under_load` counts the steps that differ (target 0), over every copy
 * and round. Also prints how much longer the pack takes under load.
 *
 *   npm run bench:under-load      (about 10 minutes on 2 cores)
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { removeLab } from "../src/index.ts";
import { connectEngine } from "../src/runtime/engine.ts";
import { findScenarios } from "../src/scenarios/find-scenarios.ts";
import { runScenarios } from "../src/scenarios/run-scenarios.ts";
import type { ScenarioResult } from "../src/scenarios/step-result.ts";
import { differences, failuresOf, verdicts } from "../test/support/pack-verdicts.ts";
import { labNames, type PackCopy, renumberPack } from "../test/support/renumber-pack.ts";
import { median, saveResults } from "./lib.ts";

const COPIES = 5;
const ROUNDS = Number(process.env.ROUNDS ?? 3);

const engine = await connectEngine();
const dir = mkdtempSync(join(tmpdir(), "fwlab-under-load-"));
const copies = Array.from({ length: COPIES }, (_, k) => renumberPack(k, join(dir, `copy${k}`)));
const removeAll = () =>
  Promise.all(copies.flatMap((c) => labNames(c.index)).map((l) => removeLab(engine, l)));

async function runCopy(c: PackCopy): Promise<{ results: ScenarioResult[]; ms: number }> {
  const t0 = performance.now();
  const results = await runScenarios(findScenarios(c.scenarios), {
    engine,
    bundleDir: join("test-results", "under-load", `copy${c.index}`),
  });
  return { results, ms: performance.now() - t0 };
}

let changes = 0;
const aloneMs: number[] = [];
const loadedMs: number[] = [];
try {
  await removeAll();
  for (let round = 1; round <= ROUNDS; round++) {
    const alone = await runCopy(copies[0]!);
    aloneMs.push(alone.ms);
    const failed = failuresOf(alone.results);
    if (failed.length) console.log(`round ${round}: the pack alone has failures:\n  ${failed.join("\n  ")}`);
    const baseline = verdicts(copies[0]!, alone.results);
    const t0 = performance.now();
    const runs = await Promise.all(copies.map((c) => runCopy(c)));
    loadedMs.push(performance.now() - t0);
    const diffs = runs.flatMap((r, i) => differences(copies[i]!, baseline, r.results));
    changes += diffs.length;
    const steps = alone.results.reduce((n, s) => n + s.steps.length, 0);
    console.log(
      `round ${round}: alone ${(alone.ms / 1000).toFixed(1)} s (${steps} steps); ${COPIES} at once ${((performance.now() - t0) / 1000).toFixed(1)} s; ${diffs.length} verdicts changed`,
    );
    for (const d of diffs) console.log(`  ${d}`);
    await removeAll();
  }
} finally {
  await removeAll();
  rmSync(dir, { recursive: true, force: true });
}

const figures = {
  verdict_changes_under_load: changes,
  pack_alone_s: Number((median(aloneMs) / 1000).toFixed(1)),
  pack_5_at_once_s: Number((median(loadedMs) / 1000).toFixed(1)),
};
console.log(figures);
await saveResults(figures);
if (changes > 0) process.exitCode = 1;
