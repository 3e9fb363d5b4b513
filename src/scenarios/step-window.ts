import type { EvidenceEvent } from "../evidence/events.ts";

/** Where a step's evidence begins and ends: a place in its lab's event list, and two times. */
export interface StepWindow {
  readonly lab: string;
  /** The list's length when the step began: what came before is an earlier step's. */
  readonly firstEvent: number;
  readonly startedAt: number;
  readonly endedAt: number;
}

/**
 * A step's own events, of `events` (its lab's, in arrival order). By place first: the step before
 * caught its evidence up before it ended, so what had arrived when this step began is that
 * step's. A time window alone let the last step's lines in when steps followed each other within
 * its slack (on a fast machine a ping step takes ~10 ms). The times still bound it: 5 ms of
 * slack for a clock that stamped an event on another host, nothing that came after the step.
 */
export function eventsOfStep(events: readonly EvidenceEvent[], w: StepWindow): EvidenceEvent[] {
  return events
    .slice(w.firstEvent)
    .filter((e) => "lab" in e && e.lab === w.lab && e.time >= w.startedAt - 5 && e.time <= w.endedAt);
}
