import { z } from "zod";
import type { ConntrackStats } from "../evidence/conntrack-stats.ts";
import type { EvidenceEvent } from "../evidence/events.ts";
import type { PacketWalk } from "../evidence/packet-walk.ts";
import type { LabNode } from "../lab/lab-node.ts";
import type { LastRun } from "../scenarios/last-run.ts";
import type { StepResult } from "../scenarios/step-result.ts";

/**
 * Every message the server sends the page over the WebSocket. The page renders these; it never
 * parses tool output.
 */
export type ServerMessage =
  | { readonly kind: "hello"; readonly labs: readonly LabSummary[] }
  /** Log lines and other events, batched (at most every 100 ms). */
  | {
      readonly kind: "events";
      readonly events: readonly EvidenceEvent[];
      /** When the server sent the batch (ms since the epoch): how much of a line's delay was the server's. */
      readonly sent?: number;
    }
  /** Events the server did not send because the page could not keep up (or coalesced away). */
  | { readonly kind: "dropped"; readonly count: number; readonly reason: string }
  /** A scenario run began: every step it will run, by scenario, so the page can list them. */
  | {
      readonly kind: "run-started";
      readonly id: string;
      readonly file: string;
      readonly lab: string;
      readonly scenarios: readonly { readonly name: string; readonly steps: readonly string[] }[];
    }
  /** One step finished, with its checks, evidence, packet trace and failure bundle. */
  | {
      readonly kind: "run-step";
      readonly id: string;
      readonly lab: string;
      readonly scenario: string;
      /** The step; its `bundle` is the bundle's folder under the run's (GET /api/runs/:id/bundle). */
      readonly step: StepResult;
      readonly bundleFiles?: readonly string[];
    }
  | {
      readonly kind: "run-done";
      readonly id: string;
      readonly lab: string;
      readonly passed: boolean;
      readonly error?: string;
    }
  /** Terminal output (UTF-8 text with escape sequences) and the end of a terminal session. */
  | { readonly kind: "term-output"; readonly id: string; readonly data: string }
  | { readonly kind: "term-exit"; readonly id: string; readonly reason: string }
  /** Packets per second through each node of a lab (its interfaces, in and out), every second. */
  | { readonly kind: "rates"; readonly lab: string; readonly pps: Readonly<Record<string, number>> }
  /** A live trace the page asked for is in place; each traced packet comes as a `walk`. */
  | {
      readonly kind: "trace-started";
      readonly id: string;
      readonly lab: string;
      readonly node: string;
      readonly match: string;
    }
  /** One traced packet's complete walk through the node's hooks. */
  | { readonly kind: "walk"; readonly id: string; readonly walk: PacketWalk }
  | { readonly kind: "trace-ended"; readonly id: string; readonly reason: string }
  /** A firewall's conntrack table in numbers, every second (the conntrack chart). */
  | { readonly kind: "conntrack-stats"; readonly stats: ConntrackStats }
  /** A client message the server refused, and why. */
  | { readonly kind: "error"; readonly reason: string };

export interface LabSummary {
  readonly name: string;
  /** The engine it runs on ("default", a docker context's name, an address). */
  readonly engine: string;
  /** The hosts it spans (each node says which it runs on); one for a single-host lab. */
  readonly hosts: readonly string[];
  /** Hosts that did not answer: their nodes are missing. */
  readonly unreachable?: readonly string[];
  readonly nodes: readonly LabNode[];
  /** Its last scenario run (from the CLI or the dashboard), for the class overview. */
  readonly lastRun?: LastRun;
}

/** POST /api/labs/:lab/nodes/:node/ruleset: what was loaded, and what the load went on past. */
export interface RulesetLoaded {
  readonly loaded: number;
  readonly format: string;
  readonly backend: string;
  /** Rules the kernel refused where the script catches the failure (LoadedRuleset.notes). */
  readonly notes: readonly string[];
}

const termId = z.string().regex(/^[\w-]{1,40}$/);
const size = { cols: z.number().int().min(10).max(500), rows: z.number().int().min(5).max(200) };

/** What the page may send over the WebSocket; anything else is refused with a reason. */
export const clientMessage = z.discriminatedUnion("kind", [
  z.strictObject({
    kind: z.literal("term-open"),
    id: termId,
    lab: z.string().min(1).max(63),
    node: z.string().min(1).max(63),
    ...size,
  }),
  z.strictObject({ kind: z.literal("term-input"), id: termId, data: z.string().max(64 * 1024) }),
  z.strictObject({ kind: z.literal("term-resize"), id: termId, ...size }),
  z.strictObject({ kind: z.literal("term-close"), id: termId }),
  z.strictObject({
    kind: z.literal("trace-start"),
    id: termId,
    lab: z.string().min(1).max(63),
    node: z.string().min(1).max(63),
    match: z.string().min(1).max(200),
  }),
  z.strictObject({ kind: z.literal("trace-stop"), id: termId }),
]);
export type ClientMessage = z.infer<typeof clientMessage>;
