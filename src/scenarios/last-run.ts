import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { z } from "zod";
import { projectRoot } from "../util/project-root.ts";
import { stateDir } from "../util/state-dir.ts";
import type { ScenarioResult } from "./step-result.ts";

export const lastRunSchema = z.strictObject({
  /** When it ended (ms since the epoch). */
  at: z.number(),
  files: z.array(z.string()),
  passed: z.boolean(),
  steps: z.number(),
  failedSteps: z.number(),
  /** The first failed step, "scenario / step: reason", for a teacher's glance. */
  firstFailure: z.string().optional(),
});
/** A lab's last scenario run, from the CLI or the dashboard: what a class overview shows. */
export type LastRun = z.infer<typeof lastRunSchema>;

const fileOf = (lab: string) => join(stateDir(), "last-runs", `${lab}.json`);

/** Records each lab's part of a run as its last run. */
export function recordLastRuns(results: readonly ScenarioResult[], at = Date.now()): void {
  const byLab = new Map<string, ScenarioResult[]>();
  for (const r of results) byLab.set(r.lab, [...(byLab.get(r.lab) ?? []), r]);
  for (const [lab, rs] of byLab) {
    const steps = rs.flatMap((r) => r.steps);
    const failed = rs.flatMap((r) => [
      ...(r.error ? [`${r.name}: ${r.error}`] : []),
      ...r.steps.filter((s) => !s.passed).map((s) => `${r.name} / ${s.name}: ${s.reason ?? s.observed}`),
    ]);
    const run: LastRun = {
      at,
      files: rs.map((r) => relative(projectRoot(), r.file)),
      passed: rs.every((r) => r.passed),
      steps: steps.length,
      failedSteps: steps.filter((s) => !s.passed).length,
      ...(failed[0] ? { firstFailure: failed[0] } : {}),
    };
    const file = fileOf(lab);
    mkdirSync(join(stateDir(), "last-runs"), { recursive: true, mode: 0o700 });
    writeFileSync(`${file}.tmp`, `${JSON.stringify(run)}\n`);
    renameSync(`${file}.tmp`, file);
  }
}

/** A lab's last run, if one was recorded (and can be read). */
export function lastRunOf(lab: string): LastRun | undefined {
  try {
    return lastRunSchema.parse(JSON.parse(readFileSync(fileOf(lab), "utf8")));
  } catch {
    return undefined; // none yet, or a file from another version: no last run to show
  }
}
