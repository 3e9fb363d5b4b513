import { createInterface } from "node:readline";
import { FwlabError } from "../errors.ts";
import { HOSTD, type HostShell } from "./host-shell.ts";

/**
 * The engine host's kernel, for what only its host can see: the one kernel log that LOG lines
 * from every namespace land in, and the sysctls that decide whether they land there at all.
 * Read and written through the host helper.
 */
const LOG_ALL_NETNS = "/proc/sys/net/netfilter/nf_log_all_netns";

/**
 * LOG lines from a container's namespace are dropped unless the host sets
 * net.netfilter.nf_log_all_netns=1. Sets it when it is 0 and the helper may.
 * Returns what happened, for the user to be told.
 */
export async function ensureLogAllNetns(
  host: HostShell,
): Promise<"already" | "enabled" | "unknown" | { denied: string }> {
  const now = (await host.read(LOG_ALL_NETNS))?.trim();
  if (now === "1") return "already";
  // The sysctl exists only in the kernel's first network namespace: an engine whose "host" is
  // another one (a test's simulated host) cannot see it. LOG lines show if the kernel's is 1.
  if (now === undefined) return "unknown";
  try {
    await host.write(LOG_ALL_NETNS, "1");
    return "enabled";
  } catch (err) {
    return { denied: (err as Error).message };
  }
}

/** Size in bytes of one conntrack entry on this kernel (slab object size of nf_conntrack). */
export async function conntrackEntryBytes(host: HostShell): Promise<number | undefined> {
  const slab = (await host.read("/proc/slabinfo").catch(() => undefined)) ?? ""; // no slabinfo: no estimate
  const line = slab.split("\n").find((l) => /^nf_conntrack\s/.test(l));
  const size = line?.trim().split(/\s+/)[3];
  return size ? Number(size) : undefined;
}

export interface KmsgReader {
  /** Stops reading. Idempotent. */
  close(): Promise<void>;
}

/**
 * Follows the engine host's kernel log from now on (or from the oldest record still in the
 * ring, with history): its netfilter LOG records, each "prio,seq,usec,flags;text". The helper
 * reads /dev/kmsg and passes on only LOG records (hostd.js). A gap in sequence numbers means
 * the kernel's ring overwrote records before they were read: `onGap` says how many. Resolves
 * once the helper reads, so a packet sent after it is seen.
 */
export async function followKernelLog(
  host: HostShell,
  onRecord: (record: string) => void,
  onGap: (lost: number, why: string) => void,
  opts: { history?: boolean } = {},
): Promise<KmsgReader> {
  const stream = await host.stream(["node", HOSTD, "kmsg", ...(opts.history ? ["--history"] : [])]);
  let stderr = "";
  stream.stderr.on("data", (b: Buffer) => {
    stderr = (stderr + b.toString("utf8")).slice(-2000);
  });
  const ready = new Promise<void>((resolve, reject) => {
    createInterface({ input: stream.stdout }).on("line", (line) => {
      let m: { ready?: boolean; r?: string; gap?: number; why?: string };
      try {
        m = JSON.parse(line);
      } catch {
        return;
      }
      if (m.r !== undefined) onRecord(m.r);
      else if (m.gap !== undefined) onGap(m.gap, m.why ?? "kernel log records were lost");
      else if (m.ready) resolve();
    });
    void stream.ended.then(() =>
      reject(
        new FwlabError(
          `the kernel log of the engine's host cannot be read: ${stderr.trim() || "its reader ended"}`,
        ),
      ),
    );
  });
  await ready;
  return { close: () => stream.stop() };
}

/** Reads and sets a host-wide net.netfilter sysctl (only opt-in scenarios do). */
export async function hostSysctl(host: HostShell, key: string, value?: string): Promise<string> {
  if (!/^net\.netfilter\.[\w.]+$/.test(key)) throw new Error(`not a net.netfilter sysctl: ${key}`);
  const path = `/proc/sys/${key.replace(/\./g, "/")}`;
  const old = (await host.read(path))?.trim();
  if (old === undefined) throw new FwlabError(`the engine's host has no sysctl ${key}`);
  if (value !== undefined) await host.write(path, value);
  return old;
}
