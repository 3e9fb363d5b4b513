import type { EventBus } from "../../src/evidence/event-bus.ts";
import type { EvidenceEvent } from "../../src/evidence/events.ts";

/** Collects events from the bus; `until` waits (bounded) for enough of them to arrive. */
export function recorder(bus: EventBus) {
  const events: EvidenceEvent[] = [];
  const sub = bus.subscribe((e) => events.push(e));
  return {
    events,
    close: () => sub.close(),
    of<E extends EvidenceEvent>(pred: (e: EvidenceEvent) => e is E): E[] {
      return events.filter(pred);
    },
    async until(pred: (e: EvidenceEvent) => boolean, count: number, timeoutMs = 3000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline && events.filter(pred).length < count)
        await new Promise((r) => setTimeout(r, 20));
      // Grace period: a count that is reached must also not be exceeded.
      await new Promise((r) => setTimeout(r, 200));
    },
  };
}
