import { describe, expect, it } from "vitest";
import { EventBus } from "../../src/evidence/event-bus.ts";
import type { EvidenceEvent, PacketLogEvent } from "../../src/evidence/events.ts";
import type { NflogTap, watchNflog } from "../../src/evidence/nflog-source.ts";
import type { StartedLab } from "../../src/lab/started-lab.ts";
import { NflogForWorker } from "../../src/server/nflog-for-worker.ts";
import { RemoteNflog } from "../../src/server/remote-nflog.ts";
import type { WorkerMessage, WorkerRequest } from "../../src/server/run-worker-protocol.ts";

// A run worker's NFLOG lines come from the dashboard's listeners: the worker joins through the
// dashboard, and gets the lines back in order with the markers that catch its steps up.
const lab = { name: "l1" } as StartedLab;
const line = (node: string, prefix: string): PacketLogEvent => ({
  kind: "packet-log",
  source: "NFLOG",
  lab: "l1",
  node,
  group: 0,
  prefix,
  fields: {},
  time: 1,
});
const tick = () => new Promise((r) => setImmediate(r));

/** The dashboard's side with a fake listener: the tap it was given, the groups joined and left. */
function dashboard(fail?: string) {
  const toWorker: WorkerRequest[] = [];
  const taps: NflogTap[] = [];
  const stopped: number[][] = [];
  const watch = (async (_lab, _node, _bus, groups, opts) => {
    if (fail) throw new Error(fail);
    taps.push(opts!.tap!);
    return { groups: groups!, marker: async () => {}, stop: async () => void stopped.push([...groups!]) };
  }) as typeof watchNflog;
  const side = new NflogForWorker(
    new EventBus(),
    async () => lab,
    (m) => toWorker.push(m),
    watch,
  );
  return { side, toWorker, taps, stopped };
}

/** A worker and a dashboard joined by an in-order channel, as Node's IPC is. */
function pair(fail?: string) {
  const d = dashboard(fail);
  const fromWorker: WorkerMessage[] = [];
  const remote = new RemoteNflog((m) => {
    fromWorker.push(m);
    if (m.kind === "nflog-join" || m.kind === "nflog-leave") void d.side.handle(m);
  });
  const pump = () => {
    for (const m of d.toWorker.splice(0)) remote.deliver(m);
  };
  return { ...d, remote, fromWorker, pump };
}

describe("a run worker's NFLOG lines through the dashboard", () => {
  it("a join is answered once the dashboard's listener is bound; lines come to the run's bus", async () => {
    const p = pair();
    const bus = new EventBus();
    const got = bus.collect();
    const joining = p.remote.source(lab, "fw", bus, [0]);
    await tick();
    expect(p.fromWorker).toEqual([{ kind: "nflog-join", id: 1, lab: "l1", node: "fw", groups: [0] }]);
    p.pump();
    const watch = await joining;
    p.taps[0]!.event(line("fw", "DROP-IN "));
    await Promise.resolve();
    p.pump();
    await tick();
    expect(got.events.map((e) => (e as PacketLogEvent).prefix)).toEqual(["DROP-IN "]);
    const stopping = watch.stop();
    await tick();
    p.pump(); // the leave is answered once the dashboard let go of the listener
    await stopping;
    expect(p.fromWorker.at(-1)).toEqual({ kind: "nflog-leave", id: 2, of: 1 });
    expect(p.stopped).toEqual([[0]]);
  });

  it("a marker goes after the lines read before it, and waits for every group joined", async () => {
    const p = pair();
    const bus = new EventBus();
    const got: EvidenceEvent[] = [];
    bus.subscribe((e) => got.push(e));
    const joining = p.remote.source(lab, "fw", bus, [0, 5]);
    await tick();
    p.pump();
    const watch = await joining;
    let caughtUp = false;
    const waiting = watch.marker("tok", 61001).then(() => {
      caughtUp = true;
    });
    const tap = p.taps[0]!;
    tap.event(line("fw", "A "));
    tap.event(line("fw", "B "));
    tap.marker({ lab: "l1", node: "fw", group: 0, key: "tok:61001" });
    expect(p.toWorker.map((m) => m.kind)).toEqual(["nflog-lines", "nflog-marker"]);
    p.pump();
    await tick();
    expect(caughtUp).toBe(false); // group 5's marker has not come
    tap.marker({ lab: "l1", node: "fw", group: 5, key: "tok:61001" });
    p.pump();
    await waiting;
    expect(got.map((e) => (e as PacketLogEvent).prefix)).toEqual(["A ", "B "]);
  });

  it("lines and markers of nodes the run did not join stay with the dashboard", async () => {
    const p = pair();
    const joining = p.remote.source(lab, "fw", new EventBus(), [0]);
    await tick();
    p.pump();
    await joining;
    p.taps[0]!.event(line("other", "X "));
    p.taps[0]!.marker({ lab: "l1", node: "other", group: 0, key: "t:1" });
    await Promise.resolve();
    expect(p.toWorker).toEqual([]);
  });

  it("a listener the dashboard cannot start fails the join with its reason", async () => {
    const p = pair("NFLOG group 0 is held by another fwlab");
    const joining = p.remote.source(lab, "fw", new EventBus(), [0]);
    await tick();
    p.pump();
    await expect(joining).rejects.toThrow("held by another fwlab");
  });

  it("the worker's end lets go of its joins; a join still waiting fails when the channel closes", async () => {
    const p = pair();
    const joining = p.remote.source(lab, "fw", new EventBus(), [3]);
    await tick();
    p.pump();
    await joining;
    await p.side.close();
    expect(p.stopped).toEqual([[3]]);
    const r = new RemoteNflog(() => {});
    const never = r.source(lab, "fw", new EventBus(), []);
    r.close();
    await expect(never).rejects.toThrow("channel closed");
  });
});
