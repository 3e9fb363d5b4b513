/**
 * A scenario run started from the dashboard, in a process of its own: its probes, traces,
 * counters and evidence streams do not share the event loop that feeds the dashboard's pages.
 * Started by ScenarioRuns (scenario-runs.ts) with Node's IPC channel; one run per process.
 */
import { connectEngine } from "../runtime/engine.ts";
import { runScenarios } from "../scenarios/run-scenarios.ts";
import { RemoteNflog } from "./remote-nflog.ts";
import type { WorkerRequest } from "./run-worker-protocol.ts";
import { workerChannel } from "./worker-channel.ts";

const { publish, send } = workerChannel((m, then) => process.send?.(m, undefined, {}, then));
const abort = new AbortController();
// NFLOG groups stay the dashboard's (a group binds to one listener per namespace): the run
// gets a copy of the lines, and the pages get them without waiting on this busy process.
const nflog = new RemoteNflog(send);
// The dashboard went away (its channel closed): the run stops after its current step.
process.on("disconnect", () => {
  abort.abort();
  nflog.close();
});

process.on("message", async (req: WorkerRequest) => {
  if (nflog.deliver(req)) return;
  if (req.kind === "abort") return abort.abort();
  if (req.kind !== "run") return;
  try {
    const results = await runScenarios([req.file], {
      engine: await connectEngine(req.engine),
      labName: req.labName,
      bundleDir: req.bundleDir,
      optIn: req.optIn,
      signal: abort.signal,
      nflog: nflog.source,
      onStep: (s, step) => send({ kind: "step", scenario: s.scenario.name, step }),
      // A loss the run's own streams meet is the pages' to see too (NFLOG's are the
      // dashboard's own: its listeners told it first).
      onEvent: (event) => {
        if (event.kind === "loss" && event.source !== "nflog") publish(event);
      },
    });
    // The last message is on its way before the channel closes (the process then ends).
    send({ kind: "done", results }, () => process.disconnect?.());
  } catch (err) {
    send({ kind: "failed", error: (err as Error).message }, () => process.disconnect?.());
  }
});
