import { fork } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import type { EvidenceEvent } from "../evidence/events.ts";
import type { Engine } from "../runtime/engine.ts";
import { choiceOf } from "../runtime/engine-endpoint.ts";
import { LABEL } from "../runtime/labels.ts";
import { readScenarioFile } from "../scenarios/read-scenario-file.ts";
import type { ScenarioResult } from "../scenarios/step-result.ts";
import { projectRoot } from "../util/project-root.ts";
import { newToken } from "./auth.ts";
import type { NflogForWorker } from "./nflog-for-worker.ts";
import type { ServerMessage } from "./protocol.ts";
import type { WorkerMessage, WorkerRequest } from "./run-worker-protocol.ts";

/** What a run needs from the server around it. */
export interface RunHooks {
  /** The NFLOG lines a run's worker asks for, from the dashboard's own listeners. */
  nflogFor(send: (m: WorkerRequest) => void): NflogForWorker;
  /** Evidence the run forwards (losses of its streams). */
  publish(e: EvidenceEvent): void;
}

export const runBody = z.strictObject({
  file: z.string().regex(/^scenarios\/[\w./-]+\.scenario\.ya?ml$/, "a *.scenario.yml under scenarios/"),
  lab: z
    .string()
    .regex(/^[\w.-]{1,63}$/)
    .optional(),
  /** Run an optIn scenario (it changes the host for its few seconds, then puts it back). */
  optIn: z.boolean().optional(),
});

interface Run {
  readonly lab: string;
  done: boolean;
  results?: ScenarioResult[];
  error?: string;
  readonly bundleDir: string;
}

/**
 * Scenario runs started from the page: each is announced with its steps, each finished step
 * is pushed with its evidence, and failure bundles are served from the run's own folder. A run
 * goes on in a process of its own (run-worker.ts): its probes, traces and counters never hold
 * up the pages' event stream. One run at a time per lab: two runs loading rulesets into one
 * firewall would judge each other's packets.
 */
export class ScenarioRuns {
  private readonly runs = new Map<string, Run>();
  private readonly busy = new Set<string>();
  private readonly workers = new Set<ReturnType<typeof fork>>();

  constructor(
    private readonly engine: Engine,
    private readonly send: (m: ServerMessage) => void,
    private readonly hooks: RunHooks,
  ) {}

  /**
   * Starts a run; throws an Error with `status` 400/409 when it cannot. The page's lab is used
   * when it was started from the scenario's lab file; a scenario with a lab of its own (seed
   * 001) runs in that lab, started if need be.
   */
  async start(
    body: z.infer<typeof runBody>,
    may: (lab: string) => boolean = () => true,
    mayChangeHost = true,
  ): Promise<string> {
    // Host-wide settings reach every lab on the host: only a token that opens them all may.
    if (body.optIn && !mayChangeHost)
      throw Object.assign(
        new Error("an opt-in run changes the host for every lab: the teacher's token only"),
        {
          status: 403,
        },
      );
    const root = projectRoot();
    const file = resolve(root, body.file);
    if (!file.startsWith(join(root, "scenarios") + sep) || !existsSync(file))
      throw Object.assign(new Error(`no scenario file ${body.file} under scenarios/`), { status: 400 });
    const own = readScenarioFile(file);
    const labFile = body.lab
      ? (await this.engine.runtime.listContainers({ [LABEL.lab]: body.lab }))[0]?.labels[LABEL.file]
      : undefined;
    const labName = labFile === own.lab.file ? body.lab : undefined;
    const loaded = labName ? readScenarioFile(file, { labName }) : own;
    const lab = loaded.lab.name;
    // A lab's token runs scenarios in that lab only (a scenario with a lab of its own would start it).
    if (!may(lab))
      throw Object.assign(new Error(`this token does not open lab ${lab}, where ${body.file} runs`), {
        status: 403,
      });
    if (this.busy.has(lab))
      throw Object.assign(new Error(`lab ${lab} is already running a scenario; wait for it to end`), {
        status: 409,
      });
    const id = newToken().slice(0, 8);
    const run: Run = { lab, done: false, bundleDir: join(root, "fwlab-results", "dashboard", id) };
    this.runs.set(id, run);
    this.busy.add(lab);
    this.send({
      kind: "run-started",
      id,
      file: body.file,
      lab,
      scenarios: [{ name: loaded.scenario.name, steps: loaded.scenario.steps.map((s) => s.name) }],
    });
    void this.inWorker(id, run, lab, {
      kind: "run",
      file,
      labName,
      bundleDir: run.bundleDir,
      optIn: body.optIn,
      engine: choiceOf(this.engine.endpoint),
    });
    return id;
  }

  /**
   * Runs a request in a worker process; the run's messages go to the pages as they come, and
   * `run-done` once its process has ended (the lab is free for the next run then).
   */
  private async inWorker(id: string, run: Run, lab: string, req: WorkerRequest): Promise<void> {
    let results: ScenarioResult[] | undefined;
    let error: string | undefined;
    try {
      const worker = forkWorker();
      this.workers.add(worker);
      // A message for a worker that has just ended is no one's (its channel is closed).
      const nflog = this.hooks.nflogFor((m) => {
        if (worker.connected) worker.send(m);
      });
      worker.on("message", (m: WorkerMessage) => {
        if (m.kind === "events") for (const e of m.events) this.hooks.publish(e);
        else if (m.kind === "nflog-join" || m.kind === "nflog-leave") void nflog.handle(m);
        else if (m.kind === "step") this.stepDone(id, run, m.scenario, m.step);
        else if (m.kind === "done") results = m.results;
        else error = m.error;
      });
      worker.send(req);
      const code = await new Promise<number | null>((r) => worker.once("exit", r));
      this.workers.delete(worker);
      await nflog.close();
      if (!results && !error) error = `the run's process ended (exit ${code}) before the run did`;
    } catch (err) {
      error = (err as Error).message;
    }
    Object.assign(run, { done: true, results, error });
    this.busy.delete(lab);
    const passed = !error && !!results?.every((r) => r.passed);
    this.send({ kind: "run-done", id, lab, passed, error: error ?? results?.find((r) => r.error)?.error });
  }

  private stepDone(id: string, run: Run, scenario: string, step: ScenarioResult["steps"][number]): void {
    // Bundle files by their path under the run's folder: what GET /api/runs/:id/bundle serves.
    const dir = step.bundle && relative(run.bundleDir, step.bundle);
    const files = dir ? readdirSync(step.bundle!).map((f) => `${dir}/${f}`) : undefined;
    this.send({
      kind: "run-step",
      id,
      lab: run.lab,
      scenario,
      step: { ...step, bundle: dir },
      bundleFiles: files,
    });
  }

  /** Stops every run (the server is closing): each ends after its current step. */
  async close(): Promise<void> {
    await Promise.all(
      [...this.workers].map(async (w) => {
        w.send({ kind: "abort" } satisfies WorkerRequest);
        const ended = new Promise((r) => w.once("exit", r));
        if (
          !(await Promise.race([
            ended.then(() => true),
            new Promise((r) => setTimeout(() => r(false), 10_000)),
          ]))
        )
          w.kill("SIGKILL");
      }),
    );
  }

  get(id: string): Omit<Run, "bundleDir"> | undefined {
    const run = this.runs.get(id);
    return run && { lab: run.lab, done: run.done, results: run.results, error: run.error };
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

/**
 * The run worker: the bundle's own entry (dist/run-worker.mjs) when fwlab runs bundled, else the
 * TypeScript source through tsx (tests, `npm run` scripts).
 */
function forkWorker() {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith(".ts"))
    return fork(join(projectRoot(), "src/server/run-worker.ts"), [], {
      execArgv: ["--import", join(projectRoot(), "node_modules/tsx/dist/esm/index.mjs")],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
  return fork(join(projectRoot(), "dist/run-worker.mjs"), [], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
}
