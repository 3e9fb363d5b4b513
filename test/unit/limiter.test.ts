import { describe, expect, it } from "vitest";
import { limiter } from "../../src/util/limiter.ts";

describe("limiter", () => {
  it("runs at most `limit` calls at once, in the order they came, and passes results and errors through", async () => {
    const run = limiter(2);
    let inFlight = 0;
    let most = 0;
    const started: number[] = [];
    const task = (i: number) =>
      run(async () => {
        started.push(i);
        most = Math.max(most, ++inFlight);
        await new Promise((r) => setTimeout(r, 5 + (i % 3)));
        inFlight--;
        if (i === 3) throw new Error("three");
        return i * 10;
      });
    const results = await Promise.allSettled([0, 1, 2, 3, 4, 5, 6].map(task));
    expect(most).toBe(2);
    expect(started).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(results.map((r) => (r.status === "fulfilled" ? r.value : (r.reason as Error).message))).toEqual([
      0,
      10,
      20,
      "three",
      40,
      50,
      60,
    ]);
    // A failure frees its slot: the limiter is whole afterwards.
    const after = await Promise.all([1, 2, 3].map((i) => run(async () => i)));
    expect(after).toEqual([1, 2, 3]);
  });
});
