/**
 * fwlab up/down of the default lab against docker-compose up -d/down of the same file and
 * against the engine's own floor (the same containers created and started in parallel through
 * the API, no networks, no readiness; removed in parallel), alternately, 5 rounds each, warm
 * images. fwlab and compose are timed as the CLI a user types; fwlab's `up` includes readiness
 * (every service answers), compose's waits for nothing.
 *
 *   node --import tsx bench/lab-lifecycle.ts [rounds]
 */
import { readLabFile } from "../src/topology/read-lab-file.ts";
import { engineFloor, removeFloorLeftovers } from "./floor.ts";
import { buildCli, median, ms, saveResults, timed, timedRun } from "./lib.ts";

buildCli(); // the bundle bin/fwlab runs, not a stale one's fallback

const rounds = Number(process.argv[2] ?? 5);
const FILE = "docker-compose.yml";
const LAB = "benchlab";
const PROJECT = "fwlabbench";

const fwlab = (...a: string[]) => timed("bin/fwlab", a);
// BENCH_COMPOSE_HOST: the same engine at another address for compose (bench/remote.ts: its unix
// socket, since compose 1.29 cannot use the engine's TLS); the floor and fwlab use DOCKER_HOST.
const composeEnv = process.env.BENCH_COMPOSE_HOST
  ? {
      ...process.env,
      DOCKER_HOST: process.env.BENCH_COMPOSE_HOST,
      DOCKER_TLS_VERIFY: "",
      DOCKER_CERT_PATH: "",
    }
  : process.env;
const compose = (...a: string[]) => timed("docker-compose", ["-p", PROJECT, "-f", FILE, ...a], composeEnv);

// Nothing of either may be left from an earlier, interrupted run.
await fwlab("down", "--name", LAB);
await compose("down", "--remove-orphans").catch(() => {});

await removeFloorLeftovers();
const spec = readLabFile(FILE, { name: "floor" });

const t = {
  fwUp: [] as number[],
  fwDown: [] as number[],
  dcUp: [] as number[],
  dcDown: [] as number[],
  floorUp: [] as number[],
  floorDown: [] as number[],
  noneUp: [] as number[],
};
// `up --timings` says when each stage ended, in ms since the CLI's process started: "timings (ms
// since the process started, when each stage ended): cli start 85, read 160, checks 245, …".
const stages: Map<string, number>[] = [];
const parseTimings = (stderr: string): Map<string, number> => {
  const line = /timings \(ms since the process started[^)]*\): (.*)/.exec(stderr);
  if (!line) throw new Error(`fwlab up --timings said no timings:\n${stderr}`);
  return new Map(
    line[1]!.split(", ").map((p) => {
      const at = p.lastIndexOf(" ");
      return [p.slice(0, at), Number(p.slice(at + 1))] as [string, number];
    }),
  );
};
for (let i = 0; i < rounds; i++) {
  const u = await timedRun("bin/fwlab", ["up", FILE, "--name", LAB, "--timings"]);
  t.fwUp.push(u.ms);
  stages.push(parseTimings(u.stderr));
  t.fwDown.push(await fwlab("down", "--name", LAB));
  t.dcUp.push(await compose("up", "-d"));
  t.dcDown.push(await compose("down"));
  const floor = await engineFloor(spec, { networkDisabled: true });
  t.floorUp.push(floor.upMs);
  t.floorDown.push(floor.downMs);
  const none = await engineFloor(spec, { networkDisabled: false });
  t.noneUp.push(none.upMs);
  process.stderr.write(
    `round ${i + 1}/${rounds}: fwlab up ${ms(t.fwUp[i]!)} down ${ms(t.fwDown[i]!)} | compose up ${ms(t.dcUp[i]!)} down ${ms(t.dcDown[i]!)} | floor up ${ms(floor.upMs)} down ${ms(floor.downMs)} (on the none network: up ${ms(none.upMs)})\n`,
  );
}

const up = median(t.fwUp) / median(t.dcUp);
const down = median(t.fwDown) / median(t.dcDown);
const upFloor = median(t.fwUp) / median(t.floorUp);
const downFloor = median(t.fwDown) / median(t.floorDown);
console.log(`\nlab lifecycle, default lab (8 nodes, 3 networks), medians of ${rounds} rounds`);
console.log(
  `                 fwlab        docker-compose   ratio   target       engine floor   ratio   target`,
);
const verdict = (x: number, max: number) => `<= ${max.toFixed(2)} ${x <= max ? "met" : "MISSED"}`;
console.log(
  `up (+readiness)  ${ms(median(t.fwUp)).padEnd(12)} ${ms(median(t.dcUp)).padEnd(16)} ${up.toFixed(2).padEnd(7)} ${verdict(up, 0.5).padEnd(12)} ${ms(median(t.floorUp)).padEnd(14)} ${upFloor.toFixed(2).padEnd(7)} ${verdict(upFloor, 1.2)}`,
);
console.log(
  `down             ${ms(median(t.fwDown)).padEnd(12)} ${ms(median(t.dcDown)).padEnd(16)} ${down.toFixed(2).padEnd(7)} ${verdict(down, 0.4).padEnd(12)} ${ms(median(t.floorDown)).padEnd(14)} ${downFloor.toFixed(2)}`,
);
console.log(
  `the floor is the containers created with networking disabled, as fwlab creates them; on Docker's none network they start in ${ms(median(t.noneUp))} (fwlab up / that: ${(median(t.fwUp) / median(t.noneUp)).toFixed(2)})`,
);
// Where fwlab's up goes, median of each stage's length (a stage ends when its last node is done).
{
  const names = [...stages[0]!.keys()];
  const parts = names.map((name, k) => {
    const len = median(stages.map((s) => s.get(name)! - (k ? s.get(names[k - 1]!)! : 0)));
    return `${name} ${ms(len)}`;
  });
  console.log(
    `fwlab up, stage by stage (medians): ${parts.join(", ")}; then the CLI's exit (the rest of its time)`,
  );
}
await saveResults({
  floor_none_network_up_ms: Math.round(median(t.noneUp)),
  floor_up_ms: Math.round(median(t.floorUp)),
  floor_down_ms: Math.round(median(t.floorDown)),
  up_ratio_vs_floor: Number(upFloor.toFixed(3)),
  down_ratio_vs_floor: Number(downFloor.toFixed(3)),
  up_ms: Math.round(median(t.fwUp)),
  compose_up_ms: Math.round(median(t.dcUp)),
  down_ms: Math.round(median(t.fwDown)),
  compose_down_ms: Math.round(median(t.dcDown)),
  up_ratio_vs_compose: Number(up.toFixed(3)),
  down_ratio_vs_compose: Number(down.toFixed(3)),
});
