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

  /**
   * Resolves once every event published so far has been handed to its subscribers. Delivery is
   * after the publisher's turn, while a marker's wait resolves in it: a sync that returned at its
   * marker without this, the events before the marker (in the same chunk of a stream) had not
   * reached the runner yet, and a step was judged without the trace that passed its packet.
   */
  delivered(): Promise<void> {
    return Promise.all([...this.subscribers].map((s) => s.delivered())).then(() => undefined);
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
  private waiting: (() => void)[] = [];

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

  /** Resolves once the events queued now are handled (at once when none are). */
  delivered(): Promise<void> {
    if (!this.scheduled) return Promise.resolve();
    return new Promise((r) => this.waiting.push(r));
  }

  private drain(): void {
    this.scheduled = false;
    const batch = this.queue;
    const waiting = this.waiting;
    this.queue = [];
    this.waiting = [];
    try {
      if (this.dropped > 0) {
        const lost = this.dropped;
        this.dropped = 0;
        this.handler({
          kind: "loss",
          source: "bus",
          lost,
          reason: "subscriber fell behind",
          time: Date.now(),
        });
      }
      for (const e of batch) this.handler(e);
    } finally {
      for (const w of waiting) w();
    }
  }
}
