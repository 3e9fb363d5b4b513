/**
 * Evidence latency and throughput, measured on a lab of its own:
 *  - packet -> subscriber latency of LOG, NFLOG and conntrack events (p50, p99): echo requests
 *    sent by `ping -D`, which prints each reply's arrival time and round trip, so each request's
 *    send time is known to the microsecond (for conntrack, one ping process per new flow);
 *  - how many conntrack events per second the pipeline ingests and parses during a burst of
 *    short flows, with losses counted; and the parser alone on the same lines, as a baseline.
 *
 *   node --import tsx bench/events.ts [pings]
 */
import { watchConntrack } from "../src/evidence/conntrack-source.ts";
import { EventBus } from "../src/evidence/event-bus.ts";
import type { EvidenceEvent } from "../src/evidence/events.ts";
import { watchKernelLog } from "../src/evidence/kernel-log-source.ts";
import { watchNflog } from "../src/evidence/nflog-source.ts";
import { parseConntrackEvent } from "../src/evidence/parse-conntrack.ts";
import { DockerRuntime, startLab } from "../src/index.ts";
import { saveResults } from "./lib.ts";

const pings = Number(process.argv[2] ?? 200);
const BURST = 40_000;
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! : Number.NaN;
};

const runtime = await DockerRuntime.connect();
await using lab = await startLab("bench/labs/small.yml", { runtime });
await lab.loadRuleset("fw", "bench/labs/events.sh");
const bus = new EventBus(100_000);
const got: { e: EvidenceEvent; at: number }[] = [];
bus.subscribe((e) => got.push({ e, at: Date.now() }));
const watches = [
  await watchKernelLog(runtime, bus),
  await watchNflog(lab, "fw", bus),
  await watchConntrack(lab, "fw", bus),
];

// 1. LOG and NFLOG: send times from ping -D.
const ping = await lab.exec("client", [
  "ping",
  "-D",
  "-n",
  "-c",
  String(pings),
  "-i",
  "0.02",
  "-W",
  "1",
  "10.60.2.80",
]);
const sent = new Map<number, number>();
for (const m of ping.stdout.matchAll(/^\[(\d+\.\d+)\] .*icmp_seq=(\d+) .*time=([\d.]+) ms/gm)) {
  sent.set(Number(m[2]), Number(m[1]) * 1000 - Number(m[3]));
}
await new Promise((r) => setTimeout(r, 300));
const phase1 = got.slice();

// 2. conntrack: one ping process per flow (each has its own ICMP id, so each makes a NEW
// entry), run one after another; their send times, in order, pair with the NEW events in order.
const one = await lab.exec("client", [
  "sh",
  "-c",
  `for i in $(seq ${pings}); do ping -D -n -c 1 -W 1 10.60.2.80 | grep icmp_seq; sleep 0.02; done`,
]);
const flowSent = [...one.stdout.matchAll(/^\[(\d+\.\d+)\] .*time=([\d.]+) ms/gm)].map(
  (m) => Number(m[1]) * 1000 - Number(m[2]),
);
await new Promise((r) => setTimeout(r, 500));

const latency = (source: "LOG" | "NFLOG") =>
  phase1.flatMap(({ e, at }) =>
    e.kind === "packet-log" &&
    e.source === source &&
    e.fields.icmpSeq !== undefined &&
    sent.has(e.fields.icmpSeq)
      ? [at - sent.get(e.fields.icmpSeq)!]
      : [],
  );
const ctNew = got.filter(({ e }) => e.kind === "conntrack" && e.type === "NEW" && e.entry.proto === "icmp");
const ctLatency = ctNew.slice(-flowSent.length).map(({ at }, i) => at - flowSent[i]!);

const log = latency("LOG");
const nflog = latency("NFLOG");

// 3. Throughput: a burst of short flows from 4 senders at once (one hping3 tops out near
// 17k packets/s here), events counted as the subscriber gets them.
got.length = 0;
await lab.exec("client", [
  "sh",
  "-c",
  `for p in 1 2 3 4; do nice -n 19 hping3 --udp -p $p -c ${BURST / 4} -i u1 -q 10.60.2.80 2>/dev/null & done; wait`,
]);
let last = -1;
while (got.length !== last) {
  last = got.length;
  await new Promise((r) => setTimeout(r, 300));
}
const burstEvents = got.filter(({ e }) => e.kind === "conntrack").length;
const burstLost = got.reduce((n, { e }) => n + (e.kind === "loss" ? (e.lost ?? 1) : 0), 0);
// Over the span in which events arrived: the senders' start-up is not the pipeline's time.
const arrivals = got.filter(({ e }) => e.kind === "conntrack").map(({ at }) => at);
const span = (Math.max(...arrivals) - Math.min(...arrivals)) / 1000;
const ingestRate = burstEvents / span;
const lossReports = got.filter(({ e }) => e.kind === "loss").length;
await Promise.all(watches.map((w) => w.stop()));

// Baseline in the same run: the parser alone, on recorded lines.
const line =
  "[1795256054.540710]	    [NEW] ipv4     2 udp      17 30 src=10.60.1.10 dst=10.60.2.80 sport=2001 dport=7 [UNREPLIED] src=10.60.2.80 dst=10.60.1.10 sport=7 dport=2001 id=1158571224";
const p0 = performance.now();
for (let i = 0; i < 200_000; i++) parseConntrackEvent(line);
const parseRate = 200_000 / ((performance.now() - p0) / 1000);

const row = (name: string, xs: number[]) =>
  `${name.padEnd(10)} ${String(xs.length).padStart(5)}  p50 ${pct(xs, 50).toFixed(1).padStart(6)} ms  p99 ${pct(xs, 99).toFixed(1).padStart(6)} ms`;
console.log(`\nevidence latency, packet -> subscriber (${pings} packets each; target p99 <= 100 ms)`);
console.log(row("LOG", log));
console.log(row("NFLOG", nflog));
console.log(row("conntrack", ctLatency));
console.log(`\nconntrack burst: ${BURST} short UDP flows`);
console.log(
  `  events received  ${burstEvents} (NEW and DESTROY), ${lossReports} loss reports, ${burstLost} events reported lost`,
);
console.log(
  `  ingest rate      ${Math.round(ingestRate)} events/s through the pipeline over ${span.toFixed(2)} s (target >= 20000)`,
);
console.log(`  parser alone     ${Math.round(parseRate)} lines/s (baseline, same process)`);
const p99 = Math.max(pct(log, 99), pct(nflog, 99), pct(ctLatency, 99));
await saveResults({
  event_p99_ms: Number(p99.toFixed(1)),
  event_log_p50_ms: Number(pct(log, 50).toFixed(1)),
  event_nflog_p50_ms: Number(pct(nflog, 50).toFixed(1)),
  event_conntrack_p50_ms: Number(pct(ctLatency, 50).toFixed(1)),
  conntrack_events_per_s: Math.round(ingestRate),
  conntrack_events_lost: burstLost,
  conntrack_parse_lines_per_s: Math.round(parseRate),
});
