import { describe, expect, it } from "vitest";
import { Coalesced } from "../../src/util/coalesced.ts";

/** A read whose answers the test hands out, one per call, in order. */
function reads() {
  const pending: ((v: number) => void)[] = [];
  const fails: ((e: Error) => void)[] = [];
  let calls = 0;
  const c = new Coalesced(
    () =>
      new Promise<number>((resolve, reject) => {
        calls++;
        pending.push(resolve);
        fails.push(reject);
      }),
  );
  return {
    c,
    calls: () => calls,
    answer: (v: number) => pending.shift()!(v),
    fail: (e: Error) => {
      pending.shift();
      fails.shift()!(e);
    },
  };
}
const tick = () => new Promise((r) => setImmediate(r));

describe("Coalesced: counters read before and after probes", () => {
  it("callers at the same time share one read", async () => {
    const r = reads();
    const [a, b] = [r.c.any(), r.c.any()];
    r.answer(1);
    expect(await Promise.all([a, b])).toEqual([1, 1]);
    expect(r.calls()).toBe(1);
  });

  it("a reading after one step is the next step's reading before, with no read of its own", async () => {
    const r = reads();
    const after = r.c.fresh(performance.now());
    r.answer(7);
    expect(await after).toBe(7);
    await tick();
    expect(await r.c.any()).toBe(7);
    expect(r.calls()).toBe(1);
  });

  it("fresh() does not take a reading that began before it was asked", async () => {
    const r = reads();
    const before = r.c.any();
    const t = performance.now() + 1;
    await new Promise((res) => setTimeout(res, 2));
    const after = r.c.fresh(t);
    expect(r.calls()).toBe(2);
    r.answer(1);
    r.answer(2);
    expect([await before, await after]).toEqual([1, 2]);
  });

  it("after forget() (a load, counters zeroed) the next any() reads again", async () => {
    const r = reads();
    const first = r.c.any();
    r.answer(1);
    await first;
    await tick();
    r.c.forget();
    const second = r.c.any();
    expect(r.calls()).toBe(2);
    r.answer(0);
    expect(await second).toBe(0);
  });

  it("a read in flight when forget() came is not kept, nor shared with later callers", async () => {
    const r = reads();
    const old = r.c.any();
    r.c.forget();
    const next = r.c.any();
    expect(r.calls()).toBe(2);
    r.answer(5);
    r.answer(0);
    expect([await old, await next]).toEqual([5, 0]);
    await tick();
    expect(await r.c.any()).toBe(0);
    expect(r.calls()).toBe(2);
  });

  it("a failed read is not kept: the next any() reads again", async () => {
    const r = reads();
    const bad = r.c.any();
    r.fail(new Error("node gone"));
    await expect(bad).rejects.toThrow("node gone");
    await tick();
    const again = r.c.any();
    expect(r.calls()).toBe(2);
    r.answer(3);
    expect(await again).toBe(3);
  });

  it("seed(v): a reading known without a read (a load's read-back) is the next any()", async () => {
    const r = reads();
    const old = r.c.any();
    r.c.seed(9);
    expect(await r.c.any()).toBe(9);
    r.answer(1); // the read in flight before the load is not kept
    expect(await old).toBe(1);
    await tick();
    expect(await r.c.any()).toBe(9);
    expect(r.calls()).toBe(1);
    const after = r.c.fresh(performance.now());
    expect(r.calls()).toBe(2);
    r.answer(10);
    expect(await after).toBe(10);
  });
});
