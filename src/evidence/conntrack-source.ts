import type { StartedLab } from "../lab/started-lab.ts";
import type { NodeExec } from "../runtime/exec-result.ts";
import { conntrackEntryBytes } from "../runtime/host-kernel.ts";
import { ctFrames, parseCtMessages } from "./ctnetlink.ts";
import type { EventBus } from "./event-bus.ts";
import type { ConntrackTableEvent } from "./events.ts";
import { catchUp, MarkerWaits } from "./markers.ts";
import { type ConntrackEntry, type ConntrackEventType, parseConntrackEntry } from "./parse-conntrack.ts";
import { type Listener, supervise } from "./supervise.ts";

// A fake entry fwlab inserts and deletes (no packet is sent): its NEW event, from a port of its
// own, proves every event before it was delivered (a marker).
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
  /**
   * Resolves once every event the node's kernel made before the call was published: true, or
   * false if the events could not be caught up with in time (markers.ts).
   */
  sync(): Promise<boolean>;
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
  opts: {
    bufferBytes?: number;
    /** How its sentinels and table reads run: the node's probe agent where one runs (a runner's). */
    exec?: NodeExec;
  } = {},
): Promise<ConntrackWatch> {
  const exec = opts.exec ?? ((argv: string[]) => lab.exec(node, argv));
  const markers = new MarkerWaits();
  // A listener that dies is restarted; the table is re-read so consumers can resynchronise.
  const watch = await supervise(
    { lab: lab.name, node, source: "conntrack", name: "the conntrack event stream" },
    bus,
    () => listen(lab, node, bus, markers, opts),
    async () => bus.publish(await conntrackTable(lab, node, "resync", exec)),
  );
  let next = 10_000 + Math.floor(Math.random() * 50_000);
  const nextPort = () => {
    next = next >= 60_000 ? 10_000 : next + 1;
    return next;
  };
  return {
    sync: async () => {
      const sent: number[] = [];
      const insert = async (sport: number) => {
        sent.push(sport);
        await exec(["conntrack", "-I", ...sentinel(sport), "--timeout", "1"]);
      };
      const events = {
        name: "the conntrack events",
        wait: (sport: number, signal: AbortSignal) => markers.wait(String(sport), signal),
      };
      const missing = await catchUp([events], insert, nextPort);
      // Gone in a second anyway; removed now so that no table read shows them.
      for (const sport of sent) await exec(["conntrack", "-D", ...sentinel(sport)]);
      return missing.length === 0;
    },
    stop: () => watch.stop(),
  };
}

async function listen(
  lab: StartedLab,
  node: string,
  bus: EventBus,
  markers: MarkerWaits,
  opts: { bufferBytes?: number },
): Promise<Listener> {
  // The node's own reader (images/common/usr/local/lib/fwlab/ctevents): netlink with a 64 MiB
  // buffer, the kernel's messages passed on untouched a read at a time, parsed here; no host tool.
  const stream = await lab.execStream(node, [
    "/usr/local/lib/fwlab/ctevents",
    ...(opts.bufferBytes ? [String(opts.bufferBytes)] : []),
  ]);
  let live!: () => void;
  const isLive = new Promise<void>((r) => {
    live = r;
  });
  // The entries the table has as far as the events tell: after an overflow, the table the reader
  // dumps says exactly which NEW and DESTROY events did not come.
  let known = new Set<number>();
  let gap = false;
  stream.stdout.on(
    "data",
    ctFrames(({ kind, payload }) => {
      if (kind === "R") return live();
      if (kind === "L") {
        gap = true;
        return;
      }
      if (kind === "D") {
        const now = new Set<number>();
        for (const m of parseCtMessages(payload, true)) if (m.entry.ctId !== undefined) now.add(m.entry.ctId);
        if (gap) reportLoss(lab, node, bus, known, now);
        known = now;
        gap = false;
        return;
      }
      for (const e of parseCtMessages(payload)) {
        const id = e.entry.ctId;
        if (id !== undefined) {
          if (e.type === "DESTROY") known.delete(id);
          else known.add(id);
        }
        if (isSentinel(e.entry)) {
          if (e.type === "NEW") markers.arrived(String(e.entry.original.sport ?? 0));
          continue;
        }
        bus.publish({
          kind: "conntrack",
          lab: lab.name,
          node,
          type: e.type as ConntrackEventType,
          entry: e.entry,
          kernelTime: e.timeMs,
          kernelStart: e.startMs,
          time: Date.now(),
        });
      }
    }),
  );
  // Subscribed: since 5.19 the kernel makes events only while someone listens, and from now on
  // it does (the reader says "ready" once it has joined the groups).
  let timer: NodeJS.Timeout | undefined;
  const ended = stream.ended.then(() => "ended" as const);
  const late = new Promise<"late">((r) => {
    timer = setTimeout(() => r("late"), 15_000);
  });
  const why = await Promise.race([isLive.then(() => "ready" as const), ended, late]).finally(() =>
    clearTimeout(timer),
  );
  if (why !== "ready") {
    await stream.stop();
    throw new Error(
      `[${node}] the conntrack event reader ${why === "late" ? "did not start within 15 s" : "ended before it listened"}`,
    );
  }
  return { ended: stream.ended, stop: () => stream.stop() };
}

/** Publishes what an overflow lost: the table now against the entries the events said it had. */
function reportLoss(
  lab: StartedLab,
  node: string,
  bus: EventBus,
  known: ReadonlySet<number>,
  now: ReadonlySet<number>,
) {
  let added = 0;
  let gone = 0;
  for (const id of now) if (!known.has(id)) added++;
  for (const id of known) if (!now.has(id)) gone++;
  bus.publish({
    kind: "loss",
    lab: lab.name,
    node,
    source: "conntrack",
    lost: added + gone,
    reason: `[${node}] the conntrack event socket overflowed: ${added} NEW and ${gone} DESTROY events were lost (the table compared with what the events said; flows that came and went within the gap, and UPDATE events, cannot be counted); table re-read`,
    time: Date.now(),
  });
  void conntrackTable(lab, node, "resync").then(
    (t) => bus.publish(t),
    () => {},
  );
}

/** A node's whole conntrack table, its entry count and memory estimate. */
export async function conntrackTable(
  lab: StartedLab,
  node: string,
  reason: ConntrackTableEvent["reason"] = "snapshot",
  exec: NodeExec = (argv) => lab.exec(node, argv),
): Promise<ConntrackTableEvent> {
  const [list, count, entryBytes] = await Promise.all([
    exec(["conntrack", "-L", "-o", "id,extended"]),
    exec(["cat", "/proc/sys/net/netfilter/nf_conntrack_count"]),
    conntrackEntryBytes(lab.engineOf(node).host),
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
