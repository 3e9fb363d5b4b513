import { describe, expect, it } from "vitest";
import type { EvidenceEvent } from "../../src/evidence/events.ts";
import type { WorkerMessage } from "../../src/server/run-worker-protocol.ts";
import { workerChannel } from "../../src/server/worker-channel.ts";

const line = (n: number): EvidenceEvent => ({
  kind: "packet-log",
  source: "NFLOG",
  group: 5,
  lab: "l",
  node: "fw",
  prefix: `p${n}`,
  fields: {},
  time: n,
});
const prefixes = (m: WorkerMessage) =>
  m.kind === "events" ? m.events.map((e) => "prefix" in e && e.prefix) : m.kind;
const tick = () => new Promise((r) => setImmediate(r));

describe("the run worker's channel to the dashboard", () => {
  it("sends the lines of one callback as one message, after it, and the next callback's as another", async () => {
    const sent: WorkerMessage[] = [];
    const ch = workerChannel((m) => sent.push(m));
    for (let n = 1; n <= 300; n++) ch.publish(line(n));
    expect(sent).toEqual([]); // not while the callback still reads its chunk
    await tick();
    expect(sent).toHaveLength(1);
    expect(prefixes(sent[0]!)).toHaveLength(300);
    ch.publish(line(301));
    await tick();
    expect(sent.map(prefixes)).toEqual([expect.any(Array), ["p301"]]);
  });

  it("sends what was published before a step ahead of the step, once, in order", async () => {
    const sent: WorkerMessage[] = [];
    const ch = workerChannel((m) => sent.push(m));
    ch.publish(line(1));
    ch.publish(line(2));
    const step = { kind: "failed", error: "x" } as const;
    ch.send(step);
    await tick(); // the pending flush finds nothing left to send
    expect(sent.map(prefixes)).toEqual([["p1", "p2"], "failed"]);
  });

  it("sends nothing when nothing was published", async () => {
    const sent: WorkerMessage[] = [];
    const ch = workerChannel((m) => sent.push(m));
    ch.send({ kind: "done", results: [] });
    await tick();
    expect(sent).toEqual([{ kind: "done", results: [] }]);
  });
});
