import { execFile, execFileSync } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";

/** Runs a command to completion and returns its wall time in ms; throws on a non-zero exit. */
export function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  return timedRun(cmd, args, env).then((r) => r.ms);
}

/** A command's wall time, with what it wrote to stderr. */
export function timedRun(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ ms: number; stderr: string }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { env, maxBuffer: 16 * 1024 * 1024 }, (err, _out, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(" ")} failed: ${stderr || err.message}`));
      else resolve({ ms: performance.now() - t0, stderr });
    });
  });
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

export const ms = (x: number): string => `${Math.round(x)} ms`;

/**
 * Merges figures into bench/results.json, which `npm run bench` reports. With BENCH_PREFIX set
 * (bench/remote.ts sets `remote_`), each figure is saved under that prefix: the same benchmark
 * run against another engine fills another column instead of overwriting the local one.
 */
export async function saveResults(figures: Record<string, number | string>): Promise<void> {
  const file = new URL("./results.json", import.meta.url);
  const old = JSON.parse(await readFile(file, "utf8").catch(() => "{}"));
  const prefix = process.env.BENCH_PREFIX ?? "";
  const named = Object.fromEntries(Object.entries(figures).map(([k, v]) => [`${prefix}${k}`, v]));
  await writeFile(
    file,
    `${JSON.stringify({ ...old, ...named, updated: new Date().toISOString() }, null, 2)}\n`,
  );
}

/**
 * Builds the CLI's bundle now: bin/fwlab runs the TypeScript sources through tsx (~0.2-0.45 s
 * more per command) whenever the bundle is older than a source file, and a bench of the CLI
 * must measure what a user runs, not a stale-bundle fallback.
 */
export function buildCli(): void {
  execFileSync("node", ["scripts/build-cli.mjs"], { stdio: "inherit" });
}
