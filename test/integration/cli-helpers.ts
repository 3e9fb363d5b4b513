import { execFile, execFileSync, spawn } from "node:child_process";

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the fwlab CLI as a user would, from the repository root. */
export function fwlab(...args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      "bin/fwlab",
      args,
      { encoding: "utf8", timeout: 120_000, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        resolve({
          code: err ? Number.parseInt(String((err as { code?: unknown }).code), 10) || 1 : 0,
          stdout,
          stderr,
        });
      },
    );
  });
}

export const spawnFwlab = (...args: string[]) =>
  spawn("bin/fwlab", args, { stdio: ["ignore", "pipe", "pipe"] });

/** fwlab's bridges of a lab on this host (found by their alias), as `ip` lists them. */
export const labBridges = (lab: string): string =>
  execFileSync("ip", ["-o", "link", "show", "type", "bridge"], { encoding: "utf8" })
    .split("\n")
    .filter((l) => l.includes(`alias fwlab:${lab}:`))
    .join("\n");
