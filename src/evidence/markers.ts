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

/** How long a step waits for an evidence stream to catch up before saying it could not. */
export const CATCH_UP_MS = 15_000;

/** How long a marker has before the next one is sent (a lost one must not hold a step). */
const RESEND_MS = 2000;

/**
 * Waits for markers by key. A marker line's stream calls `arrived`; a wait given up (its
 * signal aborted) is forgotten, so markers that were lost leave nothing behind.
 */
export class MarkerWaits {
  private readonly waits = new Map<string, Set<() => void>>();

  wait(key: string, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      if (signal?.aborted) return;
      const done = () => {
        forget();
        resolve();
      };
      const forget = () => {
        const set = this.waits.get(key);
        set?.delete(done);
        if (set?.size === 0) this.waits.delete(key);
        signal?.removeEventListener("abort", forget);
      };
      const set = this.waits.get(key) ?? new Set();
      set.add(done);
      this.waits.set(key, set);
      signal?.addEventListener("abort", forget, { once: true });
    });
  }

  arrived(key: string): void {
    for (const done of [...(this.waits.get(key) ?? [])]) done();
  }

  /** Keys still waited for (for tests and leaks). */
  get size(): number {
    return this.waits.size;
  }
}

/** An evidence stream a marker goes through: resolves when the marker from `sport` came out. */
export interface MarkerStream {
  /** What the stream is, for the message when it does not catch up ("the kernel log"). */
  readonly name: string;
  wait(sport: number, signal: AbortSignal): Promise<void>;
}

/**
 * Catches streams up with markers: sends one, and another every RESEND_MS while a stream has
 * not delivered any of them, up to `limitMs`. Streams are in order, so any marker coming out
 * proves that everything before the first one did. A marker a stream lost (a kernel log ring
 * that wrapped, a netlink socket that overflowed) costs a resend, not the step. Returns the
 * names of the streams that did not catch up (none: all did).
 */
export async function catchUp(
  streams: readonly MarkerStream[],
  send: MarkerSender,
  nextPort: () => number,
  opts: { limitMs?: number; resendMs?: number } = {},
): Promise<string[]> {
  const limitMs = opts.limitMs ?? CATCH_UP_MS;
  const resendMs = opts.resendMs ?? RESEND_MS;
  const pending = new Set(streams);
  if (pending.size === 0) return [];
  const given = new AbortController();
  let allIn!: () => void;
  const caughtUp = new Promise<void>((r) => {
    allIn = r;
  });
  const t0 = performance.now();
  try {
    for (;;) {
      const sport = nextPort();
      for (const s of pending)
        void s.wait(sport, given.signal).then(() => {
          if (pending.delete(s) && pending.size === 0) allIn();
        });
      await send(sport);
      const left = limitMs - (performance.now() - t0);
      if ((await within(caughtUp, Math.max(0, Math.min(resendMs, left)))) || left <= resendMs) break;
    }
    return [...pending].map((s) => s.name);
  } finally {
    given.abort();
  }
}
