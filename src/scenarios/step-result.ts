import type { CounterDelta } from "../evidence/counters.ts";
import type { ConntrackChangeEvent, PacketLogEvent, TraceEvent } from "../evidence/events.ts";

/** One check of a step: its verdict, or one expected piece of evidence. */
export interface Check {
  readonly what: string;
  readonly ok: boolean;
  readonly detail: string;
}

export interface StepEvidence {
  readonly logs: readonly PacketLogEvent[];
  readonly conntrack: readonly ConntrackChangeEvent[];
  /** Rules and policies whose counters moved during the step, per firewall node. */
  readonly counters: Readonly<Record<string, readonly CounterDelta[]>>;
  readonly seenFrom?: string;
  readonly trace?: readonly TraceEvent[];
}

export interface StepResult {
  readonly index: number;
  readonly name: string;
  readonly kind: "probe" | "load" | "exec";
  /** The probe kind, for probe steps. */
  readonly probe?: string;
  readonly from?: string;
  readonly to?: string;
  readonly expected: string;
  readonly observed: string;
  readonly passed: boolean;
  /** For a failed step, one line: "expected timeout, observed ok: TCP ... accepted by filter INPUT rule 3". */
  readonly reason?: string;
  readonly detail: string;
  readonly why?: string;
  /** The whole step's wall time, ms: the probe, and reading and checking its evidence. */
  readonly durationMs: number;
  /** From asking the node's agent to the verdict, ms (probe steps): fwlab's side of the probe. */
  readonly verdictMs?: number;
  /** Time the probe took inside the node, ms (probe steps). */
  readonly probeMs?: number;
  readonly checks: readonly Check[];
  readonly evidence?: StepEvidence;
  /** Folder with the failure bundle (rules, conntrack, log lines, pcap). */
  readonly bundle?: string;
  readonly startedAt: number;
}

export interface ScenarioResult {
  readonly file: string;
  readonly name: string;
  readonly lab: string;
  readonly steps: StepResult[];
  readonly passed: boolean;
  readonly durationMs: number;
  /** Of which its steps (side by side ones once): the rest is loading, setting up, putting back. */
  readonly stepsMs?: number;
  /** Why the scenario did not run to its end (aborted, a node died, ...). */
  readonly error?: string;
  readonly skipped?: string;
  /** What happened to the lab during the run (a node's container died, ...), one line each. */
  readonly incidents?: readonly string[];
}
