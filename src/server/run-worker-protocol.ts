import type { EvidenceEvent } from "../evidence/events.ts";
import type { EngineChoice } from "../runtime/engine-endpoint.ts";
import type { ScenarioResult, StepResult } from "../scenarios/step-result.ts";

/** What the dashboard asks its run worker (src/server/run-worker.ts) over the IPC channel. */
export type WorkerRequest =
  | {
      readonly kind: "run";
      readonly file: string;
      readonly labName?: string;
      readonly bundleDir: string;
      /** Run it although it changes the host (an optIn scenario: it puts the host back). */
      readonly optIn?: boolean;
      /** The dashboard's engine: the run uses the same one. */
      readonly engine: EngineChoice;
    }
  | { readonly kind: "abort" };

/** What the worker tells the dashboard. */
export type WorkerMessage =
  | { readonly kind: "step"; readonly scenario: string; readonly step: StepResult }
  /**
   * Evidence the dashboard cannot see while the run has it (NFLOG lines), and losses: what one
   * read of a listener brought, in order, in one message (a burst is one message, not hundreds
   * the dashboard's loop would take one at a time).
   */
  | { readonly kind: "events"; readonly events: readonly EvidenceEvent[] }
  | { readonly kind: "done"; readonly results: ScenarioResult[] }
  | { readonly kind: "failed"; readonly error: string };
