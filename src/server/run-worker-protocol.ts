import type { EvidenceEvent, LossEvent, PacketLogEvent } from "../evidence/events.ts";
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
  | { readonly kind: "abort" }
  /**
   * A join or leave answered: the groups are bound and their lines come, or let go of (the
   * run removes its lab after, and the listener must not see its node go away), or why not.
   */
  | { readonly kind: "nflog-done"; readonly id: number; readonly error?: string }
  /** NFLOG lines of the nodes the run joined, as the dashboard's listeners read them (and losses). */
  | { readonly kind: "nflog-lines"; readonly events: readonly (PacketLogEvent | LossEvent)[] }
  /** A log marker came through a group, after every line before it (see markers.ts). */
  | {
      readonly kind: "nflog-marker";
      readonly lab: string;
      readonly node: string;
      readonly group: number;
      readonly key: string;
    };

/** What the worker tells the dashboard. */
export type WorkerMessage =
  | { readonly kind: "step"; readonly scenario: string; readonly step: StepResult }
  /**
   * Evidence only the run sees (losses of its streams): what one read of a listener brought, in
   * order, in one message (a burst is one message, not hundreds the dashboard's loop would take
   * one at a time).
   */
  | { readonly kind: "events"; readonly events: readonly EvidenceEvent[] }
  /**
   * The run's lab wants a node's NFLOG groups (its ruleset logs there): a group binds to one
   * listener per namespace, and the dashboard keeps it, sending the lines on (nflog-lines).
   */
  | {
      readonly kind: "nflog-join";
      readonly id: number;
      readonly lab: string;
      readonly node: string;
      readonly groups: readonly number[];
    }
  /** The join `of` is no longer wanted; answered as request `id`. */
  | { readonly kind: "nflog-leave"; readonly id: number; readonly of: number }
  | { readonly kind: "done"; readonly results: ScenarioResult[] }
  | { readonly kind: "failed"; readonly error: string };
