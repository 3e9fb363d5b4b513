import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";

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
