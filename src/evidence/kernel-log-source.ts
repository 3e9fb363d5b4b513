import { labNodes, listLabs } from "../lab/find-lab.ts";
import type { LabNode } from "../lab/lab-node.ts";
import type { ContainerRuntime } from "../runtime/container-runtime.ts";
import type { Engine } from "../runtime/engine.ts";
import { ensureLogAllNetns, followKernelLog } from "../runtime/host-kernel.ts";
import { AddressBook } from "./address-book.ts";
import type { EventBus } from "./event-bus.ts";
import { MARKER } from "./markers.ts";
import { parseKmsgRecord, parseLogLine } from "./parse-log-line.ts";

export interface KernelLogWatch {
  /** Whether LOG lines of lab nodes reach the kernel log at all (nf_log_all_netns). */
  readonly visible: boolean;
  /**
   * Resolves when the log marker of `token` sent from `sport` reaches the kernel log reader (at
   * once when LOG lines cannot reach it: there is nothing to wait for).
   */
  marker(token: string, sport: number): Promise<void>;
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
  const { runtime, host } = engine;
  const sysctl = await ensureLogAllNetns(host);
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
  let book = await addressBook(runtime);
  let refreshing = false;
  let timer: NodeJS.Timeout | undefined;
  let lastRefresh = Date.now();
  // Lines waiting for the address book, with the time each arrived (their event time).
  let pending: { text: string; at: number }[] = [];

  // Markers (markers.ts) are fwlab's, never a lab's evidence: they only resolve waits.
  const markers = new Map<string, () => void>();
  const publish = (text: string, at: number): boolean => {
    const line = parseLogLine(text);
    if (!line) return true;
    if (line.prefix.startsWith(`${MARKER} `)) {
      markers.get(`${line.prefix.slice(MARKER.length + 1)}:${line.fields.spt}`)?.();
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
  const refresh = () => {
    refreshing = true;
    addressBook(runtime)
      .then((b) => {
        book = b;
      })
      .catch(() => {}) // the engine is away: the book we have is the best there is
      .finally(() => {
        lastRefresh = Date.now();
        refreshing = false;
        const waiting = pending;
        pending = [];
        // Lines of no lab at all (the host's own rules) are not kept.
        for (const p of waiting) publish(p.text, p.at);
      });
  };

  const reader = await followKernelLog(
    host,
    (record) => {
      const r = parseKmsgRecord(record);
      if (!r) return;
      const at = Date.now();
      const known = publish(r.text, at);
      if (known) {
        if (!refreshing && at - lastRefresh > 1000) refresh();
      } else {
        pending.push({ text: r.text, at });
        if (pending.length > 10_000) pending.shift();
        // An unknown line: a lab may have started since. Look again, at most twice a second
        // (later if need be: the line must not wait for another one to come).
        if (refreshing || timer) return;
        if (at - lastRefresh >= 500) refresh();
        else
          timer = setTimeout(
            () => {
              timer = undefined;
              if (!refreshing) refresh();
            },
            500 - (at - lastRefresh),
          );
      }
    },
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
  const visible = sysctl === "already" || sysctl === "enabled" || sysctl === "unknown";
  return {
    visible,
    marker: (token, sport) =>
      new Promise((resolve) => {
        if (!visible) return resolve();
        const key = `${token}:${sport}`;
        markers.set(key, () => {
          markers.delete(key);
          resolve();
        });
      }),
    stop: () => {
      clearTimeout(timer);
      return reader.close();
    },
  };
}

async function addressBook(runtime: ContainerRuntime): Promise<AddressBook> {
  const labs = new Map<string, LabNode[]>();
  for (const lab of (await listLabs(runtime)).keys()) labs.set(lab, await labNodes(runtime, lab));
  return new AddressBook(labs);
}
