import { constants } from "node:fs";
import { open, readFile, writeFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";

/**
 * The host kernel, for what only the host can see: the one kernel log that LOG lines from
 * every namespace land in, and the sysctls that decide whether they land there at all.
 */
const LOG_ALL_NETNS = "/proc/sys/net/netfilter/nf_log_all_netns";

/**
 * LOG lines from a container's namespace are dropped unless the host sets
 * net.netfilter.nf_log_all_netns=1. Sets it when it is 0 and fwlab may (root).
 * Returns what happened, for the user to be told.
 */
export async function ensureLogAllNetns(): Promise<"already" | "enabled" | { denied: string }> {
  const now = (await readFile(LOG_ALL_NETNS, "utf8").catch(() => "")).trim();
  if (now === "1") return "already";
  try {
    await writeFile(LOG_ALL_NETNS, "1");
    return "enabled";
  } catch (err) {
    return { denied: now === "" ? "this kernel has no nf_log_all_netns" : (err as Error).message };
  }
}

/** Size in bytes of one conntrack entry on this kernel (slab object size of nf_conntrack). */
export async function conntrackEntryBytes(): Promise<number | undefined> {
  const slab = await readFile("/proc/slabinfo", "utf8").catch(() => "");
  const line = slab.split("\n").find((l) => /^nf_conntrack\s/.test(l));
  const size = line?.trim().split(/\s+/)[3];
  return size ? Number(size) : undefined;
}

export interface KmsgReader {
  /** Stops reading. Idempotent. */
  close(): Promise<void>;
}

/**
 * Follows /dev/kmsg from now on (or from the oldest record still in the ring, with history): each read returns one record ("prio,seq,usec,flags;text").
 * A gap in sequence numbers means the kernel's ring overwrote records before we read them
 * (EPIPE on read): `onGap` says how many.
 */
export async function followKernelLog(
  onRecord: (record: string) => void,
  onGap: (lost: number, why: string) => void,
  opts: { history?: boolean } = {},
): Promise<KmsgReader> {
  // Non-blocking: a blocking read would hold a libuv thread until the next kernel message and
  // keep close() waiting. Polling every 5 ms costs nothing and bounds the added latency.
  const fh = await open("/dev/kmsg", constants.O_RDONLY | constants.O_NONBLOCK);
  const startUsec = Math.floor(Number((await readFile("/proc/uptime", "utf8")).split(" ")[0]) * 1e6);
  let closed = false;
  let lastSeq: number | undefined;
  const buf = Buffer.alloc(8192);
  const loop = (async () => {
    while (!closed) {
      let n: number;
      try {
        ({ bytesRead: n } = await fh.read(buf, 0, buf.length, null));
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === "EAGAIN") {
          await sleep(5);
          continue;
        }
        if (code === "EPIPE") {
          onGap(0, "the kernel log ring overwrote records before they were read");
          continue; // the next read returns the oldest record still there
        }
        if (closed) return;
        throw err;
      }
      if (n === 0) continue;
      const record = buf.toString("utf8", 0, n);
      const head = /^\d+,(\d+),(\d+),/.exec(record);
      if (!head) continue;
      const seq = Number(head[1]);
      if (!opts.history && lastSeq === undefined && Number(head[2]) < startUsec) continue; // older than us
      if (lastSeq !== undefined && seq > lastSeq + 1)
        onGap(seq - lastSeq - 1, "kernel log records were overwritten");
      if (lastSeq !== undefined && seq <= lastSeq) continue;
      lastSeq = seq;
      onRecord(record);
    }
  })();
  loop.catch(() => {});
  return {
    close: async () => {
      closed = true;
      await loop.catch(() => {});
      await fh.close().catch(() => {});
    },
  };
}

/** Reads and sets a host-wide net.netfilter sysctl (only opt-in scenarios do). */
export async function hostSysctl(key: string, value?: string): Promise<string> {
  if (!/^net\.netfilter\.[\w.]+$/.test(key)) throw new Error(`not a net.netfilter sysctl: ${key}`);
  const path = `/proc/sys/${key.replace(/\./g, "/")}`;
  const old = (await readFile(path, "utf8")).trim();
  if (value !== undefined) await writeFile(path, value);
  return old;
}
