import { execFile } from "node:child_process";
import type { StartedLab } from "../lab/started-lab.ts";
import { conntrackEntryBytes } from "../runtime/host-kernel.ts";
import { eachLine } from "../util/each-line.ts";
import type { EventBus } from "./event-bus.ts";
import type { ConntrackTableEvent } from "./events.ts";
import { type ConntrackEntry, parseConntrackEntry, parseConntrackEvent } from "./parse-conntrack.ts";
import { type Listener, supervise } from "./supervise.ts";

// A fake entry fwlab inserts and deletes (no packet is sent): its NEW event proves the listener
// is live, and, from a port of its own, that every event before it was delivered (a marker).
const sentinel = (sport: number) => [
  "-p",
  "udp",
  "-s",
  "127.255.255.1",
  "-d",
  "127.255.255.2",
  "--sport",
  String(sport),
  "--dport",
  "9",
];
const isSentinel = (e: ConntrackEntry) =>
  e.original.src === "127.255.255.1" && e.original.dst === "127.255.255.2";

export interface ConntrackWatch {
  /** Resolves once every event the node's kernel made before the call was published. */
  sync(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Streams a node's conntrack events (NEW, UPDATE, DESTROY) to the bus. Since kernel 5.19 the
 * kernel only generates events while a listener exists, so this resolves only once the
 * listener has seen a sentinel entry of its own: traffic after that is never missed for want
 * of a listener. When the event socket overflows (conntrack prints ENOBUFS) the loss is
 * published and the table re-read, so consumers can resynchronise.
 */
export async function watchConntrack(
  lab: StartedLab,
  node: string,
  bus: EventBus,
  opts: { bufferBytes?: number } = {},
): Promise<ConntrackWatch> {
  const markers = new Map<number, () => void>();
  // A listener that dies is restarted; the table is re-read so consumers can resynchronise.
  const watch = await supervise(
    { lab: lab.name, node, source: "conntrack", name: "the conntrack event stream" },
    bus,
    () => listen(lab, node, bus, markers, opts),
    async () => bus.publish(await conntrackTable(lab, node, "resync")),
  );
  let next = 10_000 + Math.floor(Math.random() * 50_000);
  return {
    sync: async () => {
      next = next >= 60_000 ? 10_000 : next + 1;
      const sport = next;
      const seen = new Promise<void>((r) => markers.set(sport, r));
      await lab.exec(node, ["conntrack", "-I", ...sentinel(sport), "--timeout", "1"]);
      await seen;
      markers.delete(sport);
      await lab.exec(node, ["conntrack", "-D", ...sentinel(sport)]);
    },
    stop: () => watch.stop(),
  };
}

async function listen(
  lab: StartedLab,
  node: string,
  bus: EventBus,
  markers: ReadonlyMap<number, () => void>,
  opts: { bufferBytes?: number },
): Promise<Listener> {
  // 64 MiB: a burst of 40,000 new flows fits while the reader catches up (bench/events.ts).
  const buffer = String(opts.bufferBytes ?? 64 * 1024 * 1024);
  const argv = ["conntrack", "-E", "-o", "timestamp,id,extended", "--buffer-size", buffer];
  // The host's conntrack in the node's namespace when there is one (a direct pipe keeps up with
  // a burst); else the node's own through docker exec.
  const stream = (await hostHasConntrack())
    ? await lab.streamInNetns(node, argv)
    : await lab.execStream(node, argv);
  let live!: () => void;
  const isLive = new Promise<void>((r) => {
    live = r;
  });
  eachLine(stream.stdout, (line) => {
    const e = parseConntrackEvent(line);
    if (!e) return;
    if (isSentinel(e.entry)) {
      if (e.type === "NEW") markers.get(e.entry.original.sport ?? 0)?.();
      return live();
    }
    bus.publish({
      kind: "conntrack",
      lab: lab.name,
      node,
      type: e.type,
      entry: e.entry,
      kernelTime: e.timeMs,
      time: Date.now(),
    });
  });
  eachLine(stream.stderr, (line) => {
    if (/ENOBUFS/.test(line)) {
      bus.publish({
        kind: "loss",
        lab: lab.name,
        node,
        source: "conntrack",
        reason: "conntrack event socket overflowed (ENOBUFS); table re-read",
        time: Date.now(),
      });
      void conntrackTable(lab, node, "resync").then(
        (t) => bus.publish(t),
        () => {},
      );
    }
  });
  for (let i = 0; i < 50; i++) {
    await lab.exec(node, ["conntrack", "-I", ...sentinel(9), "--timeout", "1"]);
    const ok = await Promise.race([
      isLive.then(() => true),
      new Promise((r) => setTimeout(() => r(false), 100)),
    ]);
    if (ok) break;
    await lab.exec(node, ["conntrack", "-D", ...sentinel(9)]);
  }
  await lab.exec(node, ["conntrack", "-D", ...sentinel(9)]);
  return { ended: stream.ended, stop: () => stream.stop() };
}

let hostConntrack: Promise<boolean> | undefined;
const hostHasConntrack = () =>
  (hostConntrack ??= new Promise((resolve) =>
    execFile("conntrack", ["--version"], (err) => resolve(!err && process.getuid?.() === 0)),
  ));

/** A node's whole conntrack table, its entry count and memory estimate. */
export async function conntrackTable(
  lab: StartedLab,
  node: string,
  reason: ConntrackTableEvent["reason"] = "snapshot",
): Promise<ConntrackTableEvent> {
  const [list, count, entryBytes] = await Promise.all([
    lab.exec(node, ["conntrack", "-L", "-o", "id,extended"]),
    lab.exec(node, ["cat", "/proc/sys/net/netfilter/nf_conntrack_count"]),
    conntrackEntryBytes(),
  ]);
  const entries = list.stdout
    .split("\n")
    .map(parseConntrackEntry)
    .filter((e): e is ConntrackEntry => !!e && !isSentinel(e));
  const n = Number(count.stdout.trim()) || entries.length;
  const size = entryBytes ?? 0;
  return {
    kind: "conntrack-table",
    lab: lab.name,
    node,
    entries,
    count: n,
    entryBytes: size,
    memoryBytes: n * size,
    reason,
    time: Date.now(),
  };
}
