import type { EvidenceEvent, LossEvent } from "./events.ts";

/** Where a listener's losses go: an EventBus, or several. */
export interface Publisher {
  publish(e: EvidenceEvent): void;
}

/** A running evidence listener: it ends on its own only when something killed it. */
export interface Listener {
  readonly ended: Promise<void>;
  stop(): Promise<void>;
}

const clock = (t: number) => new Date(t).toISOString().slice(11, 23);

/**
 * Keeps an evidence listener running: when it ends without being stopped (its process was
 * killed, its node restarted), the gap is published as a loss and the listener started again;
 * `afterRestart` then re-reads what can be re-read (the conntrack table). A listener that
 * cannot be restarted (its node is gone) is reported once and left stopped.
 */
export async function supervise(
  what: { lab: string; node: string; source: LossEvent["source"]; name: string },
  bus: Publisher,
  start: () => Promise<Listener>,
  afterRestart?: () => Promise<void>,
): Promise<{ stop(): Promise<void> }> {
  let current = await start();
  let stopped = false;
  const loss = (reason: string) =>
    bus.publish({
      kind: "loss",
      lab: what.lab,
      node: what.node,
      source: what.source,
      reason,
      time: Date.now(),
    });
  const follow = (l: Listener) => {
    void l.ended.then(async () => {
      if (stopped || l !== current) return;
      const from = Date.now();
      for (let attempt = 1; attempt <= 3 && !stopped; attempt++) {
        try {
          current = await start();
          if (stopped) return void (await current.stop());
          loss(
            `[${what.node}] ${what.name} ended unexpectedly and was restarted: events between ${clock(from)} and ${clock(Date.now())} were not seen`,
          );
          // What could not be re-read is part of the gap: consumers must not think they are in step.
          await afterRestart?.().catch((err: Error) =>
            loss(
              `[${what.node}] after restarting ${what.name}, re-reading what it missed failed: ${err.message}`,
            ),
          );
          follow(current);
          return;
        } catch (err) {
          if (attempt === 3)
            loss(`[${what.node}] ${what.name} ended and could not be restarted: ${(err as Error).message}`);
          else await new Promise((r) => setTimeout(r, 200 * attempt));
        }
      }
    });
  };
  follow(current);
  return {
    stop: async () => {
      stopped = true;
      await current.stop();
    },
  };
}
