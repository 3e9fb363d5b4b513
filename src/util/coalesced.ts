/**
 * A read that callers in flight at the same time share. `fresh(t)` needs a read that began at
 * or after t (counters after a probe: the probe's packets must be in them); `any()` takes one in
 * flight whatever its start, or the last one read while nothing changed since (counters before
 * a probe: any read done before it sends will do, and the previous step's reading after is one).
 * `forget()` says something changed what is read (a ruleset loaded, counters zeroed): the next
 * `any()` reads again. `seed(v)` is such a change whose result is known (a load's read-back):
 * `any()` takes it with no read.
 */
export class Coalesced<T> {
  private inflight?: { readonly started: number; readonly value: Promise<T> };
  private last?: Promise<T>;
  private generation = 0;

  constructor(private readonly read: () => Promise<T>) {}

  any(): Promise<T> {
    return this.inflight?.value ?? this.last ?? this.start();
  }

  fresh(notBefore: number): Promise<T> {
    return this.inflight && this.inflight.started >= notBefore ? this.inflight.value : this.start();
  }

  forget(): void {
    this.generation++;
    this.last = undefined;
    this.inflight = undefined;
  }

  seed(value: T): void {
    this.forget();
    this.last = Promise.resolve(value);
  }

  private start(): Promise<T> {
    const value = this.read();
    const entry = { started: performance.now(), value };
    const generation = this.generation;
    this.inflight = entry;
    const settled = (ok: boolean) => () => {
      if (this.inflight === entry) this.inflight = undefined;
      // A read that failed, or began before a change, is no reading of what is there now.
      if (generation === this.generation) this.last = ok ? value : undefined;
    };
    value.then(settled(true), settled(false));
    return value;
  }
}
