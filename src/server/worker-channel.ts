import type { EvidenceEvent } from "../evidence/events.ts";
import type { WorkerMessage } from "./run-worker-protocol.ts";

/** Sends one message to the dashboard; `then` once it is on its way. */
export type SendMessage = (m: WorkerMessage, then?: () => void) => void;

/**
 * The run worker's side of its channel to the dashboard. Events wait for the end of the
 * callback that published them (a chunk of a listener's output, read line by line) and go as
 * one message: a burst is one message, sent before the loop turns to the next stream (a trace
 * of the same packets, say), not hundreds the dashboard's loop would take one at a time.
 * Anything else sent flushes them first: the dashboard sees a step's evidence before the step.
 */
export function workerChannel(sendMessage: SendMessage): {
  publish(e: EvidenceEvent): void;
  send: SendMessage;
} {
  let pending: EvidenceEvent[] = [];
  const flush = () => {
    if (pending.length === 0) return;
    const events = pending;
    pending = [];
    sendMessage({ kind: "events", events });
  };
  return {
    publish(e) {
      if (pending.push(e) === 1) queueMicrotask(flush);
    },
    send(m, then) {
      flush();
      sendMessage(m, then);
    },
  };
}
