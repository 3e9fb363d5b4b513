/**
 * A read that callers in flight at the same time share. `fresh(t)` needs a read that began at
 * or after t (counters after a probe: the probe's packets must be in them); `any()` takes one in
 * flight whatever its start (counters before a probe: any read done before it sends will do).
 */
export class Coalesced<T> {
  private inflight?: { readonly started: number; readonly value: Promise<T> };

  constructor(private readonly read: () => Promise<T>) {}

  any(): Promise<T> {
    return this.inflight?.value ?? this.start();
  }

  fresh(notBefore: number): Promise<T> {
    return this.inflight && this.inflight.started >= notBefore ? this.inflight.value : this.start();
  }

  private start(): Promise<T> {
    const value = this.read();
    const entry = { started: performance.now(), value };
    this.inflight = entry;
    const clear = () => {
      if (this.inflight === entry) this.inflight = undefined;
    };
    value.then(clear, clear);
    return value;
  }
}
