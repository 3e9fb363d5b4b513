/**
 * Markers: to know that an evidence stream has delivered everything up to now, fwlab sends a
 * datagram of its own in the node (127.0.0.1:9, from a marker port) that fwlab's trace table
 * traces, logs and drops before any user chain or conntrack sees it. Streams are in order, so
 * when the marker's line arrives every earlier line has: a step's evidence is complete because
 * the marker came back, not because some time passed. (Conntrack has its own marker: an entry
 * fwlab inserts; see conntrack-source.ts.)
 */

/** The prefix of marker lines in the kernel log and NFLOG: "fwlab-sync <token> ". */
export const MARKER = "fwlab-sync";

/** Sends one marker datagram in a node from `sport`. */
export type MarkerSender = (sport: number) => Promise<void>;

// Above fwlab's probe ports (61000-64999) and the kernel's ephemeral range.
const RANGES = { trace: [65000, 65267], logs: [65268, 65535] } as const;

export const markerPorts = {
  /** Trace-only markers (cheap: nothing reaches the kernel log). */
  trace: `${RANGES.trace[0]}-${RANGES.trace[1]}`,
  /** Markers that are also logged (LOG and every NFLOG group in use). */
  logs: `${RANGES.logs[0]}-${RANGES.logs[1]}`,
  /** The next port of a range, round and round (a marker is gone long before its port returns). */
  cycle(range: keyof typeof RANGES): () => number {
    const [from, to] = RANGES[range];
    let next = from + Math.floor(Math.random() * (to - from + 1));
    return () => {
      const port = next;
      next = next === to ? from : next + 1;
      return port;
    };
  },
};

/** Waits for `p` at most `ms`; says whether it came. */
export async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((r) => {
    timer = setTimeout(() => r(false), ms);
  });
  try {
    return await Promise.race([p.then(() => true as const), late]);
  } finally {
    clearTimeout(timer);
  }
}
