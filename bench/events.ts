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
import { readFileSync } from "node:fs";
import { watchConntrack } from "../src/evidence/conntrack-source.ts";
import { ctFrames, parseCtMessages } from "../src/evidence/ctnetlink.ts";
import { EventBus } from "../src/evidence/event-bus.ts";
import type { EvidenceEvent } from "../src/evidence/events.ts";
import { watchKernelLog } from "../src/evidence/kernel-log-source.ts";
import { watchNflog } from "../src/evidence/nflog-source.ts";
import { connectEngine, startLab } from "../src/index.ts";
import { saveResults } from "./lib.ts";

const pings = Number(process.argv[2] ?? 200);
const BURST = 40_000;
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! : Number.NaN;
};

const engine = await connectEngine();
await using lab = await startLab("bench/labs/small.yml", { engine });
await lab.loadRuleset("fw", "bench/labs/events.sh");
const bus = new EventBus(100_000);
const got: { e: EvidenceEvent; at: number }[] = [];
bus.subscribe((e) => got.push({ e, at: Date.now() }));
const kernel = await watchKernelLog(engine, bus);
await kernel.follow(lab.engines.values()); // a lab across hosts: each host's kernel, its nodes
const watches = [kernel, await watchNflog(lab, "fw", bus), await watchConntrack(lab, "fw", bus)];

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

// 3. Throughput: a burst of new flows that out-runs the pipeline: datagrams from fw itself to
// 40,000 ports of its loopback (no other node's CPU or wire in the way), the kernel's own rate
// from its entry count and the generator's clock.
await lab.exec("fw", ["conntrack", "-F"]);
await new Promise((r) => setTimeout(r, 500));
got.length = 0;
const gen = await lab.exec("fw", [
  "sh",
  "-c",
  // Two senders (two cores), each to its own half of the ports, addresses packed beforehand.
  `c0=$(cat /proc/sys/net/netfilter/nf_conntrack_count); t0=$(date +%s%N); for k in 0 1; do perl -MSocket -e 'socket(my $s, AF_INET, SOCK_DGRAM, 0) or die; my $a = inet_aton("127.0.0.1"); my @to = map { pack_sockaddr_in(10000 + $_, $a) } ($ARGV[0] * ${BURST / 2} + 1)..(($ARGV[0] + 1) * ${BURST / 2}); send($s, "x", 0, $_) for @to' $k & done; wait; t1=$(date +%s%N); echo $c0 $t0 $t1 $(cat /proc/sys/net/netfilter/nf_conntrack_count)`,
]);
const [c0, t0, t1, c1] = gen.stdout.trim().split(" ").map(Number) as [number, number, number, number];
const kernelRate = (c1 - c0) / ((t1 - t0) / 1e9);
let last = -1;
while (got.length !== last) {
  last = got.length;
  await new Promise((r) => setTimeout(r, 300));
}
const burstEvents = got.filter(({ e }) => e.kind === "conntrack").length;
const burstLost = got.reduce((n, { e }) => n + (e.kind === "loss" ? (e.lost ?? 0) : 0), 0);
const lossUnknown = got.some(({ e }) => e.kind === "loss" && e.lost === undefined);
// Over the span in which events arrived: the senders' start-up is not the pipeline's time.
const arrivals = got.filter(({ e }) => e.kind === "conntrack").map(({ at }) => at);
const span = (Math.max(...arrivals) - Math.min(...arrivals)) / 1000;
const ingestRate = burstEvents / span;
const lossReports = got.filter(({ e }) => e.kind === "loss").length;
await Promise.all(watches.map((w) => w.stop()));

// Baseline in the same run: the parser alone, on recorded netlink messages.
const recorded: Buffer[] = [];
ctFrames((f) => f.kind === "E" && recorded.push(f.payload))(
  readFileSync("test/fixtures/ctnetlink/events.bin"),
);
const p0 = performance.now();
let parsed = 0;
while (parsed < 200_000) for (const b of recorded) parsed += parseCtMessages(b).length;
const parseRate = parsed / ((performance.now() - p0) / 1000);

const row = (name: string, xs: number[]) =>
  `${name.padEnd(10)} ${String(xs.length).padStart(5)}  p50 ${pct(xs, 50).toFixed(1).padStart(6)} ms  p99 ${pct(xs, 99).toFixed(1).padStart(6)} ms`;
console.log(`\nevidence latency, packet -> subscriber (${pings} packets each; target p99 <= 100 ms)`);
console.log(row("LOG", log));
console.log(row("NFLOG", nflog));
console.log(row("conntrack", ctLatency));
console.log(`\nconntrack burst: ${BURST} new UDP flows made in fw itself`);
console.log(
  `  kernel           ${c1 - c0} entries made at ${Math.round(kernelRate)} entries/s (its entry count over the generator's ${((t1 - t0) / 1e9).toFixed(2)} s)`,
);
console.log(
  `  events received  ${burstEvents}, ${lossReports} loss reports, ${lossUnknown ? "some losses not countable" : `${burstLost} events reported lost`}; received + lost = ${burstEvents + burstLost} of ${c1 - c0} made`,
);
console.log(
  `  ingest rate      ${Math.round(ingestRate)} events/s through the pipeline over ${span.toFixed(2)} s (target >= 20000)`,
);
console.log(`  parser alone     ${Math.round(parseRate)} messages/s (baseline, same process)`);
const p99 = Math.max(pct(log, 99), pct(nflog, 99), pct(ctLatency, 99));
await saveResults({
  event_p99_ms: Number(p99.toFixed(1)),
  event_log_p50_ms: Number(pct(log, 50).toFixed(1)),
  event_nflog_p50_ms: Number(pct(nflog, 50).toFixed(1)),
  event_conntrack_p50_ms: Number(pct(ctLatency, 50).toFixed(1)),
  conntrack_events_per_s: Math.round(ingestRate),
  conntrack_kernel_entries_per_s: Math.round(kernelRate),
  conntrack_events_lost: lossUnknown ? "unknown" : burstLost,
  conntrack_parse_lines_per_s: Math.round(parseRate),
});
