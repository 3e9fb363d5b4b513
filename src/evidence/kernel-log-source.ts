import { labNodes, listLabs } from "../lab/find-lab.ts";
import type { LabNode } from "../lab/lab-node.ts";
import type { DockerRuntime } from "../runtime/docker-runtime.ts";
import { ensureLogAllNetns, followKernelLog } from "../runtime/host-kernel.ts";
import { AddressBook } from "./address-book.ts";
import type { EventBus } from "./event-bus.ts";
import { parseKmsgRecord, parseLogLine } from "./parse-log-line.ts";

export interface KernelLogWatch {
  stop(): Promise<void>;
}

/**
 * Publishes the LOG target's lines from every running lab, each attributed to its lab and node.
 * Makes them visible first (net.netfilter.nf_log_all_netns=1), or says why it cannot.
 */
export async function watchKernelLog(
  runtime: DockerRuntime,
  bus: EventBus,
  opts: { history?: boolean } = {},
): Promise<KernelLogWatch> {
  const sysctl = await ensureLogAllNetns();
  if (sysctl === "enabled") {
    bus.publish({
      kind: "notice",
      level: "info",
      message:
        "set net.netfilter.nf_log_all_netns=1 on the host so LOG lines from lab nodes reach the kernel log",
      time: Date.now(),
    });
  } else if (sysctl !== "already") {
    bus.publish({
      kind: "notice",
      level: "warn",
      message: `LOG lines from lab nodes cannot be seen: net.netfilter.nf_log_all_netns is 0 and cannot be set (${sysctl.denied}); run \`sysctl -w net.netfilter.nf_log_all_netns=1\` as root, or use NFLOG`,
      time: Date.now(),
    });
  }
  let book = await addressBook(runtime);
  let refreshing: Promise<void> | undefined;
  let lastRefresh = Date.now();
  const pending: string[] = [];

  const publish = (text: string): boolean => {
    const line = parseLogLine(text);
    if (!line) return true;
    const origin = book.attribute(line.fields);
    if (!origin) return false;
    bus.publish({
      kind: "packet-log",
      source: "LOG",
      ...origin,
      prefix: line.prefix,
      fields: line.fields,
      time: Date.now(),
    });
    return true;
  };

  const reader = await followKernelLog(
    (record) => {
      const r = parseKmsgRecord(record);
      if (!r || publish(r.text)) return;
      // Not from a node we know: a lab may have started since. Look again, at most twice a second.
      pending.push(r.text);
      if (pending.length > 1000) pending.shift(); // lines of no lab at all (the host's own rules)
      if (refreshing || Date.now() - lastRefresh < 500) return;
      refreshing = addressBook(runtime).then((b) => {
        book = b;
        lastRefresh = Date.now();
        for (const t of pending.splice(0)) publish(t);
        refreshing = undefined;
      });
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
  return { stop: () => reader.close() };
}

async function addressBook(runtime: DockerRuntime): Promise<AddressBook> {
  const labs = new Map<string, LabNode[]>();
  for (const lab of (await listLabs(runtime)).keys()) labs.set(lab, await labNodes(runtime, lab));
  return new AddressBook(labs);
}
