/**
 * The `remote` column of `npm run bench`: the lifecycle, probe and evidence benchmarks again,
 * against a second engine on this machine that fwlab reaches only over TCP with TLS, as it would
 * a lab server (scripts/remote-engine.sh: its own network namespace, containerd and data root).
 * Its figures are saved as `remote_<figure>` beside the local ones; the baselines (compose,
 * the engine's floor) are measured against the same remote engine in the same run.
 *
 *   node --import tsx bench/remote.ts        (root: it starts the engine; about 6 min)
 */
import { execFileSync, spawnSync } from "node:child_process";
import { buildCli } from "./lib.ts";

buildCli(); // the bundle bin/fwlab runs, not a stale one's fallback

const N = "1";
const up = execFileSync("sh", ["scripts/remote-engine.sh", "up", N], { encoding: "utf8" });
const engineEnv = Object.fromEntries(
  up
    .split("\n")
    .map((l) => /^(DOCKER_[A-Z_]+)=(.*)$/.exec(l))
    .filter((m) => m !== null)
    .map((m) => [m[1]!, m[2]!]),
);
if (!engineEnv.DOCKER_HOST)
  throw new Error(`scripts/remote-engine.sh up ${N} printed no DOCKER_HOST:\n${up}`);
const socket = execFileSync("sh", ["scripts/remote-engine.sh", "socket", N], { encoding: "utf8" }).trim();
const env = {
  ...process.env,
  ...engineEnv,
  BENCH_PREFIX: "remote_",
  BENCH_ROUNDS: "1",
  BENCH_SIMPLE: "0",
  // compose's baseline: the same engine through its unix socket (compose 1.29 cannot use its TLS;
  // a local socket is the faster way in, so the ratio is if anything harder on fwlab).
  BENCH_COMPOSE_HOST: socket,
};
process.stdout.write(`remote engine: ${engineEnv.DOCKER_HOST} (TLS)\n`);

const steps: [what: string, argv: string[]][] = [
  ["images on the remote engine", ["bin/fwlab", "images"]],
  ["bench/lab-lifecycle.ts 3", [process.execPath, "--import", "tsx", "bench/lab-lifecycle.ts", "3"]],
  ["bench/scenarios.ts (fwlab's way, 1 round)", [process.execPath, "--import", "tsx", "bench/scenarios.ts"]],
  ["bench/events.ts", [process.execPath, "--import", "tsx", "bench/events.ts"]],
  // Nothing left running there: the host helper goes with the last lab.
  ["down --all", ["bin/fwlab", "down", "--all"]],
];
for (const [what, [cmd, ...args]] of steps) {
  process.stdout.write(`\n--- remote: ${what} ---\n`);
  const r = spawnSync(cmd!, args, { stdio: "inherit", env });
  if (r.status !== 0) {
    console.error(`remote: ${what} failed (exit ${r.status ?? r.signal})`);
    process.exit(1);
  }
}
