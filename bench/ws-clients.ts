/**
 * Dashboard clients for bench/dashboard.ts, in a process of their own: 50 pages are 50
 * browsers, each parsing its own copy of a batch. Parsed in one event loop, a burst of a few
 * hundred NFLOG lines was read 50 times in a row, and the last client's latency was the bench's
 * own queue, not the server's. Each process holds a share of the clients and reports the latency
 * per event kind, what was dropped, and how late its own loop ran.
 *
 * Forked with one argument, JSON { base, token, count, announceRuns }; the parent sends "stop"
 * and the process answers with its ClientsReport, then ends. The one with `announceRuns`
 * forwards `run-done` messages.
 */
import { monitorEventLoopDelay } from "node:perf_hooks";
import WebSocket from "ws";
import type { ServerMessage } from "../src/server/protocol.ts";

export interface ClientsReport {
  readonly kind: "report";
  readonly byKind: [kind: string, latenciesMs: number[]][];
  /** Of each latency, the server's part: publish to the batch's `sent`. */
  readonly serverMs: number[];
  readonly messages: number;
  readonly dropped: number;
  readonly loopP99Ms: number;
  readonly loopMaxMs: number;
}
export type ClientsMessage =
  | { readonly kind: "ready" }
  | { readonly kind: "run-done"; readonly id: string; readonly passed: boolean }
  | ClientsReport;

const { base, token, count, announceRuns } = JSON.parse(process.argv[2]!) as {
  base: string;
  token: string;
  count: number;
  announceRuns: boolean;
};
const post = (m: ClientsMessage, then?: () => void) => process.send!(m, undefined, {}, then);
const byKind = new Map<string, number[]>();
const serverMs: number[] = [];
const loop = monitorEventLoopDelay({ resolution: 10 });
loop.enable();
let messages = 0;
let dropped = 0;

const clients = await Promise.all(
  Array.from({ length: count }, async (_, i) => {
    const ws = new WebSocket(`${base.replace("http", "ws")}/ws`, ["fwlab.v1", `token.${token}`], {
      origin: base,
    });
    ws.on("message", (m) => {
      const now = Date.now();
      const msg = JSON.parse(String(m)) as ServerMessage;
      messages++;
      if (msg.kind === "events")
        for (const e of msg.events) {
          const kind = "source" in e ? `${e.kind} ${e.source}` : e.kind;
          const xs = byKind.get(kind) ?? [];
          if (xs.length === 0) byKind.set(kind, xs);
          xs.push(now - e.time);
          if (msg.sent !== undefined) serverMs.push(msg.sent - e.time);
        }
      else if (msg.kind === "dropped") dropped += msg.count;
      else if (announceRuns && i === 0 && msg.kind === "run-done")
        post({ kind: "run-done", id: msg.id, passed: msg.passed });
    });
    await new Promise((r, j) => ws.once("open", r).once("error", j));
    return ws;
  }),
);
post({ kind: "ready" });

process.once("message", () => {
  for (const ws of clients) ws.close();
  post(
    {
      kind: "report",
      byKind: [...byKind],
      serverMs,
      messages,
      dropped,
      loopP99Ms: loop.percentile(99) / 1e6,
      loopMaxMs: loop.max / 1e6,
    },
    () => process.exit(0),
  );
});
