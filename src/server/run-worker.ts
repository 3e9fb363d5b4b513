/**
 * A scenario run started from the dashboard, in a process of its own: its probes, traces,
 * counters and evidence streams do not share the event loop that feeds the dashboard's pages.
 * Started by ScenarioRuns (scenario-runs.ts) with Node's IPC channel; one run per process.
 */
import { connectEngine } from "../runtime/engine.ts";
import { runScenarios } from "../scenarios/run-scenarios.ts";
import type { WorkerRequest } from "./run-worker-protocol.ts";
import { workerChannel } from "./worker-channel.ts";

const { publish, send } = workerChannel((m, then) => process.send?.(m, undefined, {}, then));
const abort = new AbortController();
// The dashboard went away (its channel closed): the run stops after its current step.
process.on("disconnect", () => abort.abort());

process.on("message", async (req: WorkerRequest) => {
  if (req.kind === "abort") return abort.abort();
  try {
    const results = await runScenarios([req.file], {
      engine: await connectEngine(req.engine),
      labName: req.labName,
      bundleDir: req.bundleDir,
      optIn: req.optIn,
      signal: abort.signal,
      onStep: (s, step) => send({ kind: "step", scenario: s.scenario.name, step }),
      // The NFLOG lines of the lab are this run's while it runs (a group binds to one listener
      // per namespace): they go back to the dashboard, with any loss the run meets.
      onEvent: (event) => {
        if ((event.kind === "packet-log" && event.source === "NFLOG") || event.kind === "loss")
          publish(event);
      },
    });
    // The last message is on its way before the channel closes (the process then ends).
    send({ kind: "done", results }, () => process.disconnect?.());
  } catch (err) {
    send({ kind: "failed", error: (err as Error).message }, () => process.disconnect?.());
  }
});
