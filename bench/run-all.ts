/**
 * `npm run bench`: every benchmark in turn (each prints its own figures and merges them into
 * bench/results.json), then one table of the headline figures against their targets.
 * Needs the engine to itself: stop other labs on the default subnets first (`fwlab down`).
 *
 *   npm run bench            (about 35 min: the pack's simple way waits out fixed timeouts)
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import Table from "cli-table3";

const BENCHES = [
  "lab-lifecycle",
  "cli",
  "events",
  "scenarios",
  "up-50-nodes",
  "dashboard",
  "under-load",
  "remote",
  "multihost",
];
const failed: string[] = [];
for (const name of BENCHES) {
  process.stdout.write(`\n=== bench/${name}.ts ===\n`);
  const r = spawnSync(process.execPath, ["--import", "tsx", `bench/${name}.ts`], { stdio: "inherit" });
  if (r.status !== 0) failed.push(name);
}

const results = JSON.parse(readFileSync(new URL("./results.json", import.meta.url), "utf8")) as Record<
  string,
  number
>;
const targets: [field: string, what: string, op: "<=" | ">=", target: number][] = [
  ["up_ratio_vs_compose", "fwlab up (with readiness) / docker-compose up -d", "<=", 0.5],
  [
    "up_ratio_vs_floor",
    "fwlab up (with readiness) / the engine's floor (same containers, no networks)",
    "<=",
    1.2,
  ],
  ["down_ratio_vs_compose", "fwlab down / docker-compose down", "<=", 0.4],
  ["up_50_ratio_vs_floor", "50-node lab up (with readiness) / the engine's floor", "<=", 1.1],
  ["cli_status_ratio_vs_docker_ps", "fwlab status / docker ps -a", "<=", 3],
  ["cli_load_ms", "fwlab load as a command (ms)", "<=", 600],
  ["load_step_ms", "median load step in a scenario (ms)", "<=", 300],
  ["load_ratio_vs_exec", "load step / a docker exec of iptables-save", "<=", 3],
  ["scenario_overhead_ms", "a scenario's wall time minus its steps (ms, median)", "<=", 500],
  ["probe_overhead_ms", "time a probe adds beyond its network work (ms)", "<=", 5],
  ["drop_verdict_ms", "sending to timeout for a dropped packet (ms)", "<=", 250],
  ["pack_speedup_vs_naive", "seed pack: simple way / fwlab", ">=", 10],
  ["event_p99_ms", "packet to subscriber, LOG/NFLOG/conntrack p99 (ms)", "<=", 100],
  ["conntrack_events_per_s", "conntrack events delivered per second in a burst", ">=", 20_000],
  ["ws50_delivery_p99_ms", "dashboard delivery p99, 50 clients during the pack (ms)", "<=", 250],
  ["rss_mb", "peak memory, dashboard streaming a run (MiB)", "<=", 200],
  ["verdict_changes_under_load", "steps whose verdict differs with 5 packs at once (3 rounds)", "<=", 0],
];
// The remote column: the same figure against a TCP engine with TLS (bench/remote.ts), with the
// targets of issue 13 (a remote engine's round trips cost what a local socket's do not).
const REMOTE = new Map([
  ["up_ratio_vs_compose", 0.8],
  ["probe_overhead_ms", 5],
  ["event_p99_ms", 100],
  ["conntrack_events_per_s", 20_000],
]);
// Issue 14's figures: the default lab across 3 hosts of a simulated swarm (bench/multihost.ts).
const MULTIHOST: [field: string, what: string, target: number][] = [
  ["multihost_up_ratio_vs_one_host", "up across 3 hosts / the same lab on one of them", 2],
  ["multihost_probe_overhead_ms", "probe overhead, labs across 3 hosts (ms)", 5],
  ["multihost_event_p99_ms", "packet to subscriber p99, labs across 3 hosts (ms)", 100],
];
const table = new Table({ head: ["figure", "what", "local", "remote", "target", ""] });
const verdict = (v: number | undefined, op: string, target: number) =>
  v === undefined ? "not measured" : (op === "<=" ? v <= target : v >= target) ? "met" : "MISSED";
for (const [field, what, op, target] of targets) {
  const v = results[field];
  const remoteTarget = REMOTE.get(field);
  const r = remoteTarget === undefined ? undefined : results[`remote_${field}`];
  const met = verdict(v, op, target);
  table.push([
    field,
    what,
    v ?? "—",
    r ?? "",
    remoteTarget === undefined || remoteTarget === target
      ? `${op} ${target}`
      : `${op} ${target} (remote ${remoteTarget})`,
    remoteTarget === undefined ? met : `${met} / remote ${verdict(r, op, remoteTarget)}`,
  ]);
}
for (const [field, what, target] of MULTIHOST)
  table.push([field, what, results[field] ?? "—", "", `<= ${target}`, verdict(results[field], "<=", target)]);
for (const [field, what] of [
  ["multihost_up_s", "default lab up across 3 hosts, with readiness (s)"],
  ["multihost_up_floor_s", "the engines' floor for it: same containers and overlays, no readiness (s)"],
  ["multihost_up_ratio_vs_floor", "up across 3 hosts / that floor"],
] as const)
  table.push([field, what, results[field] ?? "—", "", "", ""]);
console.log(`\n${table.toString()}\nall figures: bench/results.json (${results.updated})`);
if (failed.length) {
  console.error(`benchmarks that failed: ${failed.join(", ")}`);
  process.exit(1);
}
