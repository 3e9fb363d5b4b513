import type { EvidenceEvent } from "../evidence/events.ts";

/**
 * What would flood a browser, coalesced: events go out in batches at most every `intervalMs`;
 * per-connection conntrack events are replaced by "this node's table changed" (the page asks
 * for the table at most `tablesPerSecond` times per second per node); a batch over `maxBatch`
 * keeps its newest events and reports how many it dropped. Pure: the clock is passed in.
 */
export class Coalescer {
  private pending: EvidenceEvent[] = [];
  private dropped = 0;
  private readonly lastTable = new Map<string, number>();
  private readonly dirtyTables = new Set<string>();

  constructor(
    private readonly opts: { maxBatch: number; tablesPerSecond: number } = {
      maxBatch: 2000,
      tablesPerSecond: 4,
    },
  ) {}

  add(e: EvidenceEvent): void {
    if (e.kind === "conntrack") {
      this.dirtyTables.add(`${e.lab}/${e.node}`);
      return;
    }
    this.pending.push(e);
  }

  /** The batch to send now, the nodes whose conntrack table to re-read, and what was dropped. */
  flush(now: number): { events: EvidenceEvent[]; tables: string[]; dropped: number } {
    let events = this.pending;
    this.pending = [];
    let dropped = this.dropped;
    this.dropped = 0;
    if (events.length > this.opts.maxBatch) {
      dropped += events.length - this.opts.maxBatch;
      events = events.slice(-this.opts.maxBatch);
    }
    const tables: string[] = [];
    const gap = 1000 / this.opts.tablesPerSecond;
    for (const key of this.dirtyTables) {
      if (now - (this.lastTable.get(key) ?? 0) < gap) continue;
      this.lastTable.set(key, now);
      this.dirtyTables.delete(key);
      tables.push(key);
    }
    return { events, tables, dropped };
  }
}
