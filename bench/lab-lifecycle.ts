/**
 * fwlab up/down of the default lab against docker-compose up -d/down of the same file,
 * alternately, 5 rounds each, warm images. Both are timed as the CLI a user types.
 * fwlab's `up` includes readiness (every service answers); compose's waits for nothing.
 *
 *   node --import tsx bench/lab-lifecycle.ts [rounds]
 */
import { median, ms, saveResults, timed } from "./lib.ts";

const rounds = Number(process.argv[2] ?? 5);
const FILE = "docker-compose.yml";
const LAB = "benchlab";
const PROJECT = "fwlabbench";

const fwlab = (...a: string[]) => timed("bin/fwlab", a);
const compose = (...a: string[]) => timed("docker-compose", ["-p", PROJECT, "-f", FILE, ...a]);

// Nothing of either may be left from an earlier, interrupted run.
await fwlab("down", "--name", LAB);
await compose("down", "--remove-orphans").catch(() => {});

const t = { fwUp: [] as number[], fwDown: [] as number[], dcUp: [] as number[], dcDown: [] as number[] };
for (let i = 0; i < rounds; i++) {
  t.fwUp.push(await fwlab("up", FILE, "--name", LAB));
  t.fwDown.push(await fwlab("down", "--name", LAB));
  t.dcUp.push(await compose("up", "-d"));
  t.dcDown.push(await compose("down"));
  process.stderr.write(
    `round ${i + 1}/${rounds}: fwlab up ${ms(t.fwUp[i]!)} down ${ms(t.fwDown[i]!)} | compose up ${ms(t.dcUp[i]!)} down ${ms(t.dcDown[i]!)}\n`,
  );
}

const up = median(t.fwUp) / median(t.dcUp);
const down = median(t.fwDown) / median(t.dcDown);
console.log(`\nlab lifecycle, default lab (8 nodes, 3 networks), medians of ${rounds} rounds`);
console.log(`                 fwlab        docker-compose   ratio   target`);
console.log(
  `up (+readiness)  ${ms(median(t.fwUp)).padEnd(12)} ${ms(median(t.dcUp)).padEnd(16)} ${up.toFixed(2).padEnd(7)} <= 0.80 ${up <= 0.8 ? "met" : "MISSED"}`,
);
console.log(
  `down             ${ms(median(t.fwDown)).padEnd(12)} ${ms(median(t.dcDown)).padEnd(16)} ${down.toFixed(2).padEnd(7)} <= 0.60 ${down <= 0.6 ? "met" : "MISSED"}`,
);
await saveResults({
  up_ms: Math.round(median(t.fwUp)),
  compose_up_ms: Math.round(median(t.dcUp)),
  down_ms: Math.round(median(t.fwDown)),
  compose_down_ms: Math.round(median(t.dcDown)),
  up_ratio_vs_compose: Number(up.toFixed(3)),
  down_ratio_vs_compose: Number(down.toFixed(3)),
});
