/**
 * The CLI where a user waits, against the engine's own CLI in the same run: `fwlab status`
 * against `docker ps -a` (target: within 3x), `fwlab load` of a ruleset (target <= 600 ms) and
 * the read-only commands (rules, conntrack, counters), each the median of 7 runs of the bundled
 * CLI on the default lab, the commands taking turns. Beside them, what no Node CLI can beat on
 * this machine: Node's own start (`node -e 0`) and the bundle's (`fwlab --version`), so a missed
 * ratio says where it went.
 *
 *   node --import tsx bench/cli.ts [runs]
 */
import { connectEngine, removeLab, startLab } from "../src/index.ts";
import { buildCli, median, ms, saveResults, timed } from "./lib.ts";

buildCli(); // the bundle bin/fwlab runs, not a stale one's fallback

const runs = Number(process.argv[2] ?? 7);
const LAB = "benchcli";
const engine = await connectEngine();
await removeLab(engine, LAB);
await using _lab = await startLab("docker-compose.yml", { engine, name: LAB });

const fwlab = (...a: string[]) => timed("bin/fwlab", [...a, "--name", LAB]);
// The commands take turns, round by round: a machine that slows down for a while (another
// process, the page cache) slows every series alike, and the ratios stay fair.
const commands = {
  dockerPs: () => timed("docker", ["ps", "-a"]),
  nodeStart: () => timed("node", ["-e", "0"]),
  version: () => timed("bin/fwlab", ["--version"]),
  status: () => fwlab("status"),
  load: () => fwlab("load", "fw", "scenarios/seed-003/states.sh"),
  rules: () => fwlab("rules", "fw"),
  conntrack: () => fwlab("conntrack", "fw"),
  counters: () => fwlab("counters", "fw"),
};
const times = Object.fromEntries(Object.keys(commands).map((k) => [k, [] as number[]])) as Record<
  keyof typeof commands,
  number[]
>;
for (const f of Object.values(commands)) await f(); // warm: the first run pays for the page cache
for (let i = 0; i < runs; i++)
  for (const [k, f] of Object.entries(commands)) times[k as keyof typeof commands].push(await f());
const { dockerPs, nodeStart, version, status, load, rules, conntrack, counters } = Object.fromEntries(
  Object.entries(times).map(([k, xs]) => [k, median(xs)]),
) as Record<keyof typeof commands, number>;

const statusRatio = status / dockerPs;
console.log(`\nthe CLI on the default lab, medians of ${runs} runs (bundled CLI)`);
console.log(`  docker ps -a        ${ms(dockerPs)}`);
console.log(
  `  node -e 0           ${ms(nodeStart)}  (Node's own start: ${(nodeStart / dockerPs).toFixed(2)}x docker ps -a)`,
);
console.log(`  fwlab --version     ${ms(version)}  (the bundle's start, no engine call)`);
console.log(`  fwlab status        ${ms(status)}  (${statusRatio.toFixed(2)}x docker ps -a; target <= 3)`);
console.log(`  fwlab load          ${ms(load)}  (target <= 600 ms)`);
console.log(`  fwlab rules         ${ms(rules)}`);
console.log(`  fwlab conntrack     ${ms(conntrack)}`);
console.log(`  fwlab counters      ${ms(counters)}`);
await saveResults({
  docker_ps_ms: Math.round(dockerPs),
  node_start_ms: Math.round(nodeStart),
  cli_version_ms: Math.round(version),
  cli_status_ms: Math.round(status),
  cli_status_ratio_vs_docker_ps: Number(statusRatio.toFixed(2)),
  cli_load_ms: Math.round(load),
  cli_rules_ms: Math.round(rules),
  cli_conntrack_ms: Math.round(conntrack),
  cli_counters_ms: Math.round(counters),
});
