import { existsSync, readdirSync } from "node:fs";
import { join, relative, resolve, sep } from "node:path";
import { z } from "zod";
import type { DockerRuntime } from "../runtime/docker-runtime.ts";
import { LABEL } from "../runtime/labels.ts";
import { readScenarioFile } from "../scenarios/read-scenario-file.ts";
import { runScenarios } from "../scenarios/run-scenarios.ts";
import type { ScenarioResult } from "../scenarios/step-result.ts";
import { projectRoot } from "../util/project-root.ts";
import { newToken } from "./auth.ts";
import type { ServerMessage } from "./protocol.ts";

export const runBody = z.strictObject({
  file: z.string().regex(/^scenarios\/[\w./-]+\.scenario\.ya?ml$/, "a *.scenario.yml under scenarios/"),
  lab: z
    .string()
    .regex(/^[\w.-]{1,63}$/)
    .optional(),
});

interface Run {
  done: boolean;
  results?: ScenarioResult[];
  error?: string;
  readonly bundleDir: string;
}

/**
 * Scenario runs started from the page: each is announced with its steps, each finished step
 * is pushed with its evidence, and failure bundles are served from the run's own folder.
 * One run at a time per lab: two runs loading rulesets into one firewall would judge each
 * other's packets.
 */
export class ScenarioRuns {
  private readonly runs = new Map<string, Run>();
  private readonly busy = new Set<string>();

  constructor(
    private readonly runtime: DockerRuntime,
    private readonly send: (m: ServerMessage) => void,
  ) {}

  /**
   * Starts a run; throws an Error with `status` 400/409 when it cannot. The page's lab is used
   * when it was started from the scenario's lab file; a scenario with a lab of its own (seed
   * 001) runs in that lab, started if need be.
   */
  async start(body: z.infer<typeof runBody>): Promise<string> {
    const root = projectRoot();
    const file = resolve(root, body.file);
    if (!file.startsWith(join(root, "scenarios") + sep) || !existsSync(file))
      throw Object.assign(new Error(`no scenario file ${body.file} under scenarios/`), { status: 400 });
    const own = readScenarioFile(file);
    const labFile = body.lab
      ? (await this.runtime.listContainers({ [LABEL.lab]: body.lab }))[0]?.labels[LABEL.file]
      : undefined;
    const labName = labFile === own.lab.file ? body.lab : undefined;
    const loaded = labName ? readScenarioFile(file, { labName }) : own;
    const lab = loaded.lab.name;
    if (this.busy.has(lab))
      throw Object.assign(new Error(`lab ${lab} is already running a scenario; wait for it to end`), {
        status: 409,
      });
    const id = newToken().slice(0, 8);
    const run: Run = { done: false, bundleDir: join(root, "fwlab-results", "dashboard", id) };
    this.runs.set(id, run);
    this.busy.add(lab);
    this.send({
      kind: "run-started",
      id,
      file: body.file,
      lab,
      scenarios: [{ name: loaded.scenario.name, steps: loaded.scenario.steps.map((s) => s.name) }],
    });
    runScenarios([file], {
      runtime: this.runtime,
      labName,
      bundleDir: run.bundleDir,
      onStep: (s, step) => {
        // Bundle files by their path under the run's folder: what GET /api/runs/:id/bundle serves.
        const dir = step.bundle && relative(run.bundleDir, step.bundle);
        const files = dir ? readdirSync(step.bundle!).map((f) => `${dir}/${f}`) : undefined;
        this.send({
          kind: "run-step",
          id,
          scenario: s.scenario.name,
          step: { ...step, bundle: dir },
          bundleFiles: files,
        });
      },
    })
      .then((results) => {
        Object.assign(run, { done: true, results });
        const error = results.find((r) => r.error)?.error;
        this.send({ kind: "run-done", id, passed: results.every((r) => r.passed), error });
      })
      .catch((err: Error) => {
        Object.assign(run, { done: true, error: err.message });
        this.send({ kind: "run-done", id, passed: false, error: err.message });
      })
      .finally(() => this.busy.delete(lab));
    return id;
  }

  get(id: string): Omit<Run, "bundleDir"> | undefined {
    const run = this.runs.get(id);
    return run && { done: run.done, results: run.results, error: run.error };
  }

  /** A file of one of the run's failure bundles, or undefined if the path leaves the run's folder. */
  bundleFile(id: string, path: string): string | undefined {
    const run = this.runs.get(id);
    if (!run) return undefined;
    const full = resolve(run.bundleDir, path);
    if (!full.startsWith(run.bundleDir + sep) || !existsSync(full)) return undefined;
    return full;
  }
}
