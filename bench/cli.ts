/**
 * The CLI where a user waits, against the engine's own CLI in the same run: `fwlab status`
 * against `docker ps -a` (target: within 3x), `fwlab load` of a ruleset (target <= 600 ms) and
 * the read-only commands (rules, conntrack, counters), each the median of 7 runs of the bundled
 * CLI on the default lab. Beside them, what no Node CLI can beat on this machine: Node's own
 * start (`node -e 0`) and the bundle's (`fwlab --version`), so a missed ratio says where it went.
 *
 *   node --import tsx bench/cli.ts [runs]
 */
import { connectEngine, removeLab, startLab } from "../src/index.ts";
import { median, ms, saveResults, timed } from "./lib.ts";

const runs = Number(process.argv[2] ?? 7);
const LAB = "benchcli";
const engine = await connectEngine();
await removeLab(engine, LAB);
await using _lab = await startLab("docker-compose.yml", { engine, name: LAB });

const fwlab = (...a: string[]) => timed("bin/fwlab", [...a, "--name", LAB]);
const series = async (f: () => Promise<number>) => {
  await f(); // warm: the first run pays for the page cache
  const xs: number[] = [];
  for (let i = 0; i < runs; i++) xs.push(await f());
  return median(xs);
};
const dockerPs = await series(() => timed("docker", ["ps", "-a"]));
const nodeStart = await series(() => timed("node", ["-e", "0"]));
const version = await series(() => timed("bin/fwlab", ["--version"]));
const status = await series(() => fwlab("status"));
const load = await series(() => fwlab("load", "fw", "scenarios/seed-003/states.sh"));
const rules = await series(() => fwlab("rules", "fw"));
const conntrack = await series(() => fwlab("conntrack", "fw"));
const counters = await series(() => fwlab("counters", "fw"));

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
