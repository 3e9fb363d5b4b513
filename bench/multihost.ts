/**
 * The multi-host figures of `npm run bench` (issue 14), on a simulated cluster of 3 engines
 * (`fwlab cluster sim up --hosts 3`: engines in their own network namespaces, TCP+TLS, a swarm):
 *  - multihost_up_s: `fwlab up --hosts fwsim-1,fwsim-2,fwsim-3` of the default lab, with
 *    readiness, and its ratio to the same lab on one of those hosts (`fwlab -c fwsim-1 up`),
 *    alternately, medians of 3 rounds each, in the same run; and against the engines' own floor
 *    for it (bench/overlay-floor.ts: the same containers on the same overlays and hosts, all at
 *    once through the API, no readiness), measured in the same rounds;
 *  - multihost_probe_overhead_ms and multihost_event_p99_ms: bench/scenarios.ts (fwlab's way,
 *    1 round) and bench/events.ts with every lab spread over the 3 hosts (FWLAB_HOSTS).
 * A simulated cluster that was up before stays up; one the benchmark started, it removes (its
 * engines' data roots stay, images included: the next run starts faster).
 *
 *   node --import tsx bench/multihost.ts        (root: it starts the engines; about 5 min)
 */
import { spawnSync } from "node:child_process";
import { closeEngines } from "../src/runtime/engine.ts";
import { readLabFile } from "../src/topology/read-lab-file.ts";
import { buildCli, median, saveResults, timed } from "./lib.ts";
import { overlayFloor, removeOverlayFloorLeftovers } from "./overlay-floor.ts";

buildCli(); // the bundle bin/fwlab runs, not a stale one's fallback

const HOSTS = ["fwsim-1", "fwsim-2", "fwsim-3"];
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const fwlab = (...args: string[]) => timed("bin/fwlab", args);
const step = (what: string, argv: string[], env: NodeJS.ProcessEnv = process.env) => {
  process.stdout.write(`\n--- multihost: ${what} ---\n`);
  const r = spawnSync(argv[0]!, argv.slice(1), { stdio: "inherit", env });
  if (r.status !== 0) {
    console.error(`multihost: ${what} failed (exit ${r.status ?? r.signal})`);
    process.exit(1);
  }
};

// The simulated cluster's underlay bridge tells whether one is up already.
const wasUp = spawnSync("ip", ["link", "show", "fwul0"], { stdio: "ignore" }).status === 0;
step("the simulated cluster", ["bin/fwlab", "cluster", "sim", "up", "--hosts", "3"]);
// A warm-up of each way (first attachments to the overlays on each worker take longer).
await fwlab("up", "--hosts", HOSTS.join(","));
await fwlab("-c", HOSTS[0]!, "down");
await fwlab("-c", HOSTS[0]!, "up");
await fwlab("-c", HOSTS[0]!, "down");

const spec = readLabFile("docker-compose.yml");
await removeOverlayFloorLeftovers(HOSTS);
const across: number[] = [];
const one: number[] = [];
const floor: number[] = [];
for (let i = 0; i < ROUNDS; i++) {
  across.push(await fwlab("up", "--hosts", HOSTS.join(",")));
  await fwlab("-c", HOSTS[0]!, "down");
  floor.push(await overlayFloor(spec, HOSTS));
  one.push(await fwlab("-c", HOSTS[0]!, "up"));
  await fwlab("-c", HOSTS[0]!, "down");
}
await closeEngines();
const upAcross = median(across);
const upOne = median(one);
const upFloor = median(floor);
const list = (xs: number[]) => xs.map((x) => Math.round(x)).join(", ");
console.log(
  `\nup, default lab with readiness: across 3 hosts ${(upAcross / 1000).toFixed(2)} s (${list(across)} ms); ` +
    `on one host ${(upOne / 1000).toFixed(2)} s (${list(one)} ms); ratio ${(upAcross / upOne).toFixed(2)} (target <= 2)\n` +
    `the engines' floor across the hosts (same containers and overlays, all at once, no readiness): ${(upFloor / 1000).toFixed(2)} s (${list(floor)} ms); ` +
    `up across hosts is ${(upAcross / upFloor).toFixed(2)}x it, and the floor alone is ${(upFloor / upOne).toFixed(2)}x the one-host up`,
);
await saveResults({
  multihost_up_s: Number((upAcross / 1000).toFixed(2)),
  multihost_up_one_host_s: Number((upOne / 1000).toFixed(2)),
  multihost_up_ratio_vs_one_host: Number((upAcross / upOne).toFixed(2)),
  multihost_up_floor_s: Number((upFloor / 1000).toFixed(2)),
  multihost_up_ratio_vs_floor: Number((upAcross / upFloor).toFixed(2)),
});

// The probe and evidence benchmarks, every lab they start spread over the hosts.
const env = {
  ...process.env,
  DOCKER_CONTEXT: HOSTS[0]!,
  FWLAB_HOSTS: HOSTS.join(","),
  BENCH_PREFIX: "multihost_",
  BENCH_ROUNDS: "1",
  BENCH_SIMPLE: "0",
};
step(
  "bench/scenarios.ts (fwlab's way, 1 round)",
  [process.execPath, "--import", "tsx", "bench/scenarios.ts"],
  env,
);
step("bench/events.ts", [process.execPath, "--import", "tsx", "bench/events.ts"], env);
if (!wasUp) step("removing the simulated cluster it started", ["bin/fwlab", "cluster", "sim", "down"]);
