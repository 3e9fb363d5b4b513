import { execFile, spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { PassThrough } from "node:stream";
import type { ExecStream } from "./docker-runtime.ts";

/**
 * Runs a host program inside a container's network namespace (nsenter -t PID -n). For
 * high-rate streams only: a `docker exec` stream passes every byte through dockerd and tops out
 * near 6,000 conntrack events per second here, where a direct pipe carries what the kernel
 * makes (28,000/s in bench/events.ts). The program must be installed on the host.
 */
export function spawnInNetns(pid: number, argv: string[]): ExecStream {
  // setpriv --pdeathsig: the program dies with fwlab, even with fwlab killed -9 (nsenter execs
  // it in the same process, so the parent-death signal holds).
  const child = spawn("setpriv", ["--pdeathsig", "KILL", "nsenter", "-t", String(pid), "-n", "--", ...argv], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  child.stdout.pipe(stdout);
  child.stderr.pipe(stderr);
  let code = -1;
  const ended = new Promise<void>((resolve) => {
    child.on("close", (c) => {
      code = c ?? -1;
      resolve();
    });
    child.on("error", (err) => {
      stderr.write(`nsenter: ${err.message}\n`);
      resolve();
    });
  });
  let stopping: Promise<void> | undefined;
  return {
    stdout,
    stderr,
    ended,
    stop: () => {
      stopping ??= (async () => {
        child.kill("SIGTERM");
        await Promise.race([ended, new Promise((r) => setTimeout(r, 2000).unref())]);
        child.kill("SIGKILL");
      })();
      return stopping;
    },
    exitCode: async () => {
      await ended;
      return code;
    },
  };
}

/**
 * Runs a host program to completion in a container's network namespace. Used for the node's
 * net.* sysctls: Docker mounts /proc/sys read-only inside containers, but from the host, in the
 * node's namespace, /proc/sys/net is the node's own and writable.
 */
export function runInNetns(
  pid: number,
  argv: string[],
): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile("nsenter", ["-t", String(pid), "-n", "--", ...argv], (err, stdout, stderr) => {
      const code = err
        ? typeof (err as { code?: unknown }).code === "number"
          ? (err as { code: number }).code
          : 1
        : 0;
      resolve({ exitCode: code, stdout, stderr: stderr || (err && code === 1 ? err.message : "") });
    });
  });
}

/**
 * Packets received plus sent on every interface of a process's network namespace except
 * loopback, read from /proc/PID/net/dev on the host: no exec, so a dashboard can ask every
 * node every second.
 */
export async function namespacePackets(pid: number): Promise<number> {
  const text = await readFile(`/proc/${pid}/net/dev`, "utf8");
  let total = 0;
  for (const line of text.split("\n").slice(2)) {
    const [name, rest] = line.split(":");
    if (!rest || name!.trim() === "lo") continue;
    const f = rest.trim().split(/\s+/).map(Number);
    total += (f[1] ?? 0) + (f[9] ?? 0); // rx packets, tx packets
  }
  return total;
}
