import type { EvidenceEvent } from "./events.ts";

export interface Subscription {
  /** Events dropped for this subscriber because it fell behind. */
  readonly dropped: number;
  close(): void;
}

/**
 * The one stream every evidence source publishes to and every consumer (CLI, runner,
 * dashboard) reads from. Each subscriber has its own bounded queue; a subscriber that falls
 * behind loses its oldest events, and is told how many with a `loss` event, never silently.
 */
export class EventBus {
  private readonly subscribers = new Set<Subscriber>();

  constructor(private readonly capacity = 10_000) {}

  publish(event: EvidenceEvent): void {
    for (const s of this.subscribers) s.offer(event);
  }

  subscribe(
    handler: (e: EvidenceEvent) => void,
    filter: (e: EvidenceEvent) => boolean = () => true,
  ): Subscription {
    const sub = new Subscriber(handler, filter, this.capacity);
    this.subscribers.add(sub);
    return {
      get dropped() {
        return sub.dropped;
      },
      close: () => {
        this.subscribers.delete(sub);
      },
    };
  }

  /** Collects matching events until `until` resolves (or forever): for tests and the runner. */
  collect(filter: (e: EvidenceEvent) => boolean = () => true): { events: EvidenceEvent[]; close(): void } {
    const events: EvidenceEvent[] = [];
    const sub = this.subscribe((e) => events.push(e), filter);
    return { events, close: () => sub.close() };
  }

  /** Resolves with the first matching event, or undefined after `timeoutMs`. */
  next<E extends EvidenceEvent>(
    filter: (e: EvidenceEvent) => e is E,
    timeoutMs: number,
  ): Promise<E | undefined> {
    return new Promise((resolve) => {
      const sub = this.subscribe((e) => {
        clearTimeout(timer);
        sub.close();
        resolve(e as E);
      }, filter);
      const timer = setTimeout(() => {
        sub.close();
        resolve(undefined);
      }, timeoutMs);
    });
  }
}

class Subscriber {
  dropped = 0;
  private queue: EvidenceEvent[] = [];
  private scheduled = false;

  constructor(
    private readonly handler: (e: EvidenceEvent) => void,
    private readonly filter: (e: EvidenceEvent) => boolean,
    private readonly capacity: number,
  ) {}

  offer(e: EvidenceEvent): void {
    if (!this.filter(e)) return;
    if (this.queue.length >= this.capacity) {
      this.queue.shift();
      this.dropped++;
    }
    this.queue.push(e);
    if (!this.scheduled) {
      this.scheduled = true;
      // Deliver after the publisher's turn: a slow handler never blocks a source's parser.
      setImmediate(() => this.drain());
    }
  }

  private drain(): void {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    if (this.dropped > 0) {
      const lost = this.dropped;
      this.dropped = 0;
      this.handler({ kind: "loss", source: "bus", lost, reason: "subscriber fell behind", time: Date.now() });
    }
    for (const e of batch) this.handler(e);
  }
}
