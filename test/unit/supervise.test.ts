import { describe, expect, it } from "vitest";
import type { EvidenceEvent } from "../../src/evidence/events.ts";
import { type Listener, supervise } from "../../src/evidence/supervise.ts";

/** A listener the test ends, as a killed process would end. */
function listener() {
  let end!: () => void;
  const ended = new Promise<void>((r) => {
    end = r;
  });
  const l: Listener & { end(): void } = { ended, stop: async () => end(), end: () => end() };
  return l;
}

const what = { lab: "lab1", node: "fw", source: "conntrack" as const, name: "the conntrack event stream" };
const settle = () => new Promise((r) => setTimeout(r, 20));

describe("supervise: an evidence listener that dies is restarted, and the gap is reported", () => {
  it("publishes the gap as a loss, starts the listener again and re-reads what it missed", async () => {
    const events: EvidenceEvent[] = [];
    const started: ReturnType<typeof listener>[] = [];
    let rereads = 0;
    const w = await supervise(
      what,
      { publish: (e) => events.push(e) },
      async () => {
        started.push(listener());
        return started.at(-1)!;
      },
      async () => {
        rereads++;
      },
    );
    started[0]!.end();
    await settle();
    expect(started).toHaveLength(2);
    expect(rereads).toBe(1);
    expect(events.map((e) => (e.kind === "loss" ? e.reason : e.kind))).toEqual([
      expect.stringMatching(/^\[fw\] the conntrack event stream ended unexpectedly and was restarted/),
    ]);
    await w.stop();
  });

  it("a re-read that fails is part of the gap: reported, not swallowed", async () => {
    const events: EvidenceEvent[] = [];
    let first: ReturnType<typeof listener> | undefined;
    const w = await supervise(
      what,
      { publish: (e) => events.push(e) },
      async () => {
        const l = listener();
        first ??= l;
        return l;
      },
      async () => {
        throw new Error("conntrack: Operation not permitted");
      },
    );
    first!.end();
    await settle();
    expect(events.map((e) => (e.kind === "loss" ? e.reason : e.kind))).toEqual([
      expect.stringContaining("ended unexpectedly and was restarted"),
      "[fw] after restarting the conntrack event stream, re-reading what it missed failed: conntrack: Operation not permitted",
    ]);
    await w.stop();
  });
});
