import { listLabs, nodesOf } from "../lab/find-lab.ts";
import type { LabNode } from "../lab/lab-node.ts";
import type { ContainerInfo } from "../runtime/container-runtime.ts";
import type { Engine } from "../runtime/engine.ts";
import { ensureLogAllNetns, followKernelLog } from "../runtime/host-kernel.ts";
import { AddressBook } from "./address-book.ts";
import type { EventBus } from "./event-bus.ts";
import { MARKER, MarkerWaits } from "./markers.ts";
import { parseKmsgRecord, parseLogLine } from "./parse-log-line.ts";

export interface KernelLogWatch {
  /** Whether LOG lines of lab nodes reach the kernel log at all (nf_log_all_netns). */
  readonly visible: boolean;
  /**
   * Resolves when the log marker of `token` sent from `sport` reaches the kernel log reader (at
   * once when LOG lines cannot reach it: there is nothing to wait for).
   */
  marker(token: string, sport: number, signal?: AbortSignal): Promise<void>;
  /**
   * Follows the kernel logs of more engines' hosts too (a multi-host lab's): one reader per
   * kernel, so hosts that share one (a simulated cluster's) give each line once.
   */
  follow(engines: Iterable<Engine>): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Publishes the LOG target's lines from every running lab, each attributed to its lab and node.
 * Makes them visible first (net.netfilter.nf_log_all_netns=1), or says why it cannot.
 */
export async function watchKernelLog(
  engine: Engine,
  bus: EventBus,
  opts: { history?: boolean } = {},
): Promise<KernelLogWatch> {
  const engines: Engine[] = [engine];
  let book = await addressBook(engines);
  /** The book's refresh under way, if one is. */
  let refreshing: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let lastRefresh = Date.now();
  // Lines waiting for the address book, with the time each arrived (their event time).
  let pending: { text: string; at: number }[] = [];

  // Markers (markers.ts) are fwlab's, never a lab's evidence: they only resolve waits.
  const markers = new MarkerWaits();
  const publish = (text: string, at: number): boolean => {
    const line = parseLogLine(text);
    if (!line) return true;
    if (line.prefix.startsWith(`${MARKER} `)) {
      markers.arrived(`${line.prefix.slice(MARKER.length + 1)}:${line.fields.spt}`);
      return true;
    }
    const origin = book.attribute(line.fields);
    if (!origin) return false;
    bus.publish({
      kind: "packet-log",
      source: "LOG",
      ...origin,
      prefix: line.prefix,
      fields: line.fields,
      time: at,
    });
    return true;
  };
  // Labs come and go, and a new one may reuse a removed one's addresses: while lines flow, the
  // book is looked at again in the background once a second (lines it knows never wait for it).
  const refresh = (): Promise<void> => {
    refreshing ??= addressBook(engines)
      .then((b) => {
        book = b;
      })
      .catch(() => {}) // the engine is away: the book we have is the best there is
      .finally(() => {
        lastRefresh = Date.now();
        refreshing = undefined;
        const waiting = pending;
        pending = [];
        // Lines of no lab at all (the host's own rules) are not kept.
        for (const p of waiting) publish(p.text, p.at);
      });
    return refreshing;
  };

  const onRecord = (record: string) => {
    const r = parseKmsgRecord(record);
    if (!r) return;
    const at = Date.now();
    // While a line waits for the book, the lines after it wait behind it: a marker must not
    // pass a line it follows, or a step's catch-up ends without that line (a lab that started
    // after the book was read: its first LOG line waited, its step's marker did not).
    if (pending.length === 0 && publish(r.text, at)) {
      if (!refreshing && at - lastRefresh > 1000) void refresh();
      return;
    }
    pending.push({ text: r.text, at });
    if (pending.length > 10_000) pending.shift();
    // An unknown line: a lab may have started since. Look again, at most twice a second
    // (later if need be: the line must not wait for another one to come).
    if (refreshing || timer) return;
    if (at - lastRefresh >= 500) void refresh();
    else
      timer = setTimeout(
        () => {
          timer = undefined;
          if (!refreshing) void refresh();
        },
        500 - (at - lastRefresh),
      );
  };
  // One reader per kernel, by its boot id: engines on one machine share a kernel log.
  const readers = new Map<string, { close(): Promise<void> }>();
  const read = async (e: Engine): Promise<boolean> => {
    const kernel = (await e.host.read(BOOT_ID))?.trim() ?? e.name;
    if (readers.has(kernel)) return true;
    readers.set(kernel, { close: async () => {} }); // taken: a parallel follow() skips it
    let reader: { close(): Promise<void> };
    let visible: boolean;
    try {
      visible = await makeVisible(e, bus);
      reader = await followKernelLog(
        e.host,
        onRecord,
        (lost, why) =>
          bus.publish({
            kind: "loss",
            source: "kernel-log",
            lost: lost || undefined,
            reason: why,
            time: Date.now(),
          }),
        opts,
      );
    } catch (err) {
      readers.delete(kernel); // not read: the next follow() tries again
      throw err;
    }
    if (stopped) await reader.close();
    else readers.set(kernel, reader);
    return visible;
  };
  let stopped = false;
  const visible = await read(engine);
  return {
    visible,
    marker: async (token, sport, signal) => {
      if (visible) await markers.wait(`${token}:${sport}`, signal);
    },
    follow: async (more) => {
      // The labs on these engines are looked up again, whether or not they are new engines: a
      // lab this run just started is known before its first step (a refresh under way may have
      // begun before it existed).
      const added = [...more].filter((e) => !engines.includes(e));
      engines.push(...added);
      const results = await Promise.allSettled(added.map(read));
      await refreshing;
      await refresh();
      const failed = results.findIndex((r) => r.status === "rejected");
      if (failed >= 0) {
        // Not followed: asked again next time.
        engines.splice(engines.indexOf(added[failed]!), 1);
        throw (results[failed] as PromiseRejectedResult).reason;
      }
    },
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await Promise.all([...readers.values()].map((r) => r.close()));
    },
  };
}

/** The kernel's boot id: the same for every engine on one machine (one kernel, one log). */
const BOOT_ID = "/proc/sys/kernel/random/boot_id";

/** Makes LOG lines of lab nodes visible on an engine's host, or says why they are not. */
async function makeVisible(engine: Engine, bus: EventBus): Promise<boolean> {
  const sysctl = await ensureLogAllNetns(engine.host);
  if (sysctl === "enabled") {
    bus.publish({
      kind: "notice",
      level: "info",
      message:
        "set net.netfilter.nf_log_all_netns=1 on the host so LOG lines from lab nodes reach the kernel log",
      time: Date.now(),
    });
  } else if (sysctl === "unknown") {
    bus.publish({
      kind: "notice",
      level: "info",
      message: `the host of engine ${engine.name} is not the kernel's first network namespace: LOG lines from lab nodes show only if net.netfilter.nf_log_all_netns is 1 there`,
      time: Date.now(),
    });
  } else if (sysctl !== "already") {
    bus.publish({
      kind: "notice",
      level: "warn",
      message: `LOG lines from lab nodes cannot be seen: net.netfilter.nf_log_all_netns is 0 on the host of engine ${engine.name} and cannot be set (${sysctl.denied}); run \`sysctl -w net.netfilter.nf_log_all_netns=1\` there as root, or use NFLOG`,
      time: Date.now(),
    });
  }
  return sysctl === "already" || sysctl === "enabled" || sysctl === "unknown";
}

/** Every lab's nodes on these engines: a multi-host lab's nodes from all of its hosts. */
async function addressBook(engines: readonly Engine[]): Promise<AddressBook> {
  const labs = new Map<string, LabNode[]>();
  const listed = await Promise.all(engines.map((e) => listLabs(e.runtime).catch(() => new Map())));
  for (const [i, found] of listed.entries())
    for (const [lab, containers] of found as Map<string, ContainerInfo[]>)
      labs.set(lab, [...(labs.get(lab) ?? []), ...nodesOf(containers, engines[i]!.name)]);
  return new AddressBook(labs);
}
