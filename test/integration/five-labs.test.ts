import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { removeLab } from "../../src/index.ts";
import { connectEngine } from "../../src/runtime/engine.ts";
import { findScenarios } from "../../src/scenarios/find-scenarios.ts";
import { runScenarios } from "../../src/scenarios/run-scenarios.ts";
import type { ScenarioResult, StepResult } from "../../src/scenarios/step-result.ts";
import { differences, verdicts } from "../support/pack-verdicts.ts";
import { isPackAddress, labNames, type PackCopy, renumberPack } from "../support/renumber-pack.ts";

// Issue 6, "Load": five labs running the seed pack at the same time on one machine; every run's
// verdicts are those of a run alone, and no evidence crosses labs. Each run is a renumbered copy
// of the pack (running labs may not share subnets), copy 0 alone being the baseline.
const CONCURRENT = 5;
const BUNDLES = "test-results/five-labs"; // failure bundles, kept for a look after a failed run

let dir = "";
let copies: PackCopy[] = [];

async function removeAll(): Promise<void> {
  const engine = await connectEngine();
  await Promise.all(
    Array.from({ length: CONCURRENT + 1 }, (_, k) => labNames(k))
      .flat()
      .map((l) => removeLab(engine, l)),
  );
}

async function runCopy(c: PackCopy): Promise<{ results: ScenarioResult[]; ms: number }> {
  const t0 = performance.now();
  const results = await runScenarios(findScenarios(c.scenarios), {
    engine: await connectEngine(),
    bundleDir: join(BUNDLES, `copy${c.index}`),
  });
  return { results, ms: performance.now() - t0 };
}

/** Everything in a step's evidence that names another lab, or an address or MAC of another lab. */
function foreign(c: PackCopy, step: StepResult): string[] {
  const ev = step.evidence;
  if (!ev) return [];
  const out = [...ev.logs, ...ev.conntrack]
    .filter((e) => !c.labs.includes(e.lab))
    .map((e) => `${e.kind} of lab ${e.lab}`);
  const text = JSON.stringify(ev);
  const macs = [...text.matchAll(/\b02:42((?::[0-9a-f]{2}){4})\b/gi)].map((m) =>
    m[1]!
      .slice(1)
      .split(":")
      .map((h) => Number.parseInt(h, 16))
      .join("."),
  );
  const ips = [...text.matchAll(/(?<![\d.])\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}(?!\d)/g)].map((m) => m[0]);
  for (const ip of new Set([...ips, ...macs]))
    if (isPackAddress(ip) && !c.owns(ip)) out.push(`address ${ip} of another lab`);
  return out;
}

describe(`${CONCURRENT} labs running the seed pack at once`, () => {
  beforeAll(async () => {
    await removeAll(); // what an interrupted run left
    rmSync(BUNDLES, { recursive: true, force: true });
    dir = mkdtempSync(join(tmpdir(), "fwlab-five-labs-"));
    copies = Array.from({ length: CONCURRENT + 1 }, (_, k) => renumberPack(k, join(dir, `copy${k}`)));
  }, 180_000);
  afterAll(async () => {
    await removeAll();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 180_000);

  it("gives every run the verdicts of a run alone, and each run only its own evidence", async () => {
    const alone = await runCopy(copies[0]!);
    const baseline = verdicts(copies[0]!, alone.results);
    expect(
      Object.entries(baseline).flatMap(([f, s]) => [
        ...(s.error ? [`${f}: ${s.error}`] : []),
        ...s.steps.filter((x) => x.endsWith("FAILED")).map((x) => `${f} / ${x}`),
      ]),
      "the pack alone",
    ).toEqual([]);

    const t0 = performance.now();
    const settled = await Promise.allSettled(copies.slice(1).map(runCopy));
    const concurrentMs = performance.now() - t0;
    process.stderr.write(
      `[five-labs] pack alone ${(alone.ms / 1000).toFixed(1)} s; ${CONCURRENT} at once ${(concurrentMs / 1000).toFixed(1)} s (${settled
        .map((r) => (r.status === "fulfilled" ? `${(r.value.ms / 1000).toFixed(1)} s` : "failed"))
        .join(", ")})\n`,
    );

    const problems = alone.results
      .flatMap((s) => s.steps)
      .flatMap((s) => foreign(copies[0]!, s).map((x) => `alone "${s.name}": ${x}`));
    for (const [i, r] of settled.entries()) {
      const c = copies[i + 1]!;
      if (r.status === "rejected") {
        problems.push(`copy ${c.index}: ${(r.reason as Error).message}`);
        continue;
      }
      problems.push(...differences(c, baseline, r.value.results));
      const steps = r.value.results.flatMap((s) => s.steps);
      problems.push(...steps.flatMap((s) => foreign(c, s).map((x) => `copy ${c.index} "${s.name}": ${x}`)));
      // The check above means something only if there was evidence to check.
      if (!steps.some((s) => (s.evidence?.logs.length ?? 0) > 0))
        problems.push(`copy ${c.index}: no log lines`);
      if (!steps.some((s) => (s.evidence?.conntrack.length ?? 0) > 0))
        problems.push(`copy ${c.index}: no conntrack events`);
    }
    expect(problems).toEqual([]);
  }, 900_000);
});
