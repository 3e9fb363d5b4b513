import { quote } from "shell-quote";
import { FwlabError } from "../errors.ts";
import type { HostShell } from "./host-shell.ts";

/**
 * A node's network namespace seen from the engine's host (through the host helper), by the PID
 * of its first process as the engine reports it.
 */

/**
 * Reads or sets a net.* sysctl in a node's namespace: Docker mounts /proc/sys read-only inside
 * containers, but from the host, in the node's namespace, /proc/sys/net is the node's own.
 */
export async function nodeSysctl(host: HostShell, pid: number, key: string, value?: string): Promise<string> {
  const argv = value === undefined ? ["sysctl", "-n", key] : ["sysctl", "-w", `${key}=${value}`];
  const r = await host.run(["nsenter", "-t", String(pid), "-n", "--", ...argv]);
  if (r.exitCode !== 0)
    throw new FwlabError(`${argv.join(" ")}: ${r.stderr.trim()}`, value === undefined ? 2 : 1);
  return r.stdout.trim();
}

/**
 * A net.* key as its file under /proc/sys (`net.ipv4.conf.*.rp_filter`: a pattern the shell
 * expands). Keys come from users' scripts and go into a shell on the host: nothing but names.
 */
function sysctlPath(key: string): string {
  if (!SYSCTL_KEY.test(key)) throw new FwlabError(`"${key}" is not a net.* sysctl key`, 2);
  return `/proc/sys/${key.replaceAll(".", "/")}`;
}
export const SYSCTL_KEY = /^net(\.[\w*@:-]+)+$/;

/**
 * Sets net.* sysctls of a node in order, in one step from the host in its namespace; a key may
 * hold `*` for every key it matches (a script's loop over each interface's rp_filter). Stops at
 * the first the kernel refuses, naming it.
 */
export async function setNodeSysctls(
  host: HostShell,
  pid: number,
  settings: readonly { key: string; value: string }[],
): Promise<void> {
  if (settings.length === 0) return;
  const script = settings
    .map(
      ({ key, value }) =>
        `for f in ${sysctlPath(key)}; do printf '%s\\n' ${quote([value])} > "$f" || { echo "${key}=${value.replace(/["\\$`]/g, "\\$&")}: cannot be set" >&2; exit 1; }; done`,
    )
    .join("\n");
  const r = await host.run(["nsenter", "-t", String(pid), "-n", "--", "sh", "-c", script]);
  if (r.exitCode !== 0) throw new FwlabError(r.stderr.trim().split("\n").reverse().join(": "));
}

/** The net.* sysctls of a node a key names (with `*`, every key it matches) and their values. */
export async function getNodeSysctls(
  host: HostShell,
  pid: number,
  key: string,
): Promise<{ key: string; value: string }[]> {
  const r = await host.run([
    "nsenter",
    "-t",
    String(pid),
    "-n",
    "--",
    "sh",
    "-c",
    `for f in ${sysctlPath(key)}; do [ -e "$f" ] && printf '%s=%s\\n' "$f" "$(cat "$f")"; done; true`,
  ]);
  if (r.exitCode !== 0) throw new FwlabError(`reading ${key}: ${r.stderr.trim()}`);
  return r.stdout
    .split("\n")
    .filter((l) => l.includes("="))
    .map((l) => {
      const at = l.indexOf("=");
      return { key: l.slice("/proc/sys/".length, at).replaceAll("/", "."), value: l.slice(at + 1) };
    });
}

/**
 * Packets received plus sent on every interface of a namespace except loopback, from
 * /proc/PID/net/dev on the host: no exec in the node, so a dashboard can ask every node every
 * second. Undefined when the process is gone.
 */
export async function namespacePackets(host: HostShell, pid: number): Promise<number | undefined> {
  const text = await host.read(`/proc/${pid}/net/dev`);
  if (text === undefined) return undefined;
  let total = 0;
  for (const line of text.split("\n").slice(2)) {
    const [name, rest] = line.split(":");
    if (!rest || name!.trim() === "lo") continue;
    const f = rest.trim().split(/\s+/).map(Number);
    total += (f[1] ?? 0) + (f[9] ?? 0); // rx packets, tx packets
  }
  return total;
}

/**
 * Hangs up a process group on the engine's host (a dashboard terminal's shell and its jobs),
 * until it is gone. A shell stopped just after it started can still be the engine's exec set-up
 * (runc's init, before it becomes the shell): that does not die of a hang-up, and one in ten
 * shells stopped at once outlived it. So: hang up, look, again, for 2 s; then kill it.
 */
export async function hangUp(host: HostShell, pid: number): Promise<void> {
  await host.run(["sh", "-c", HANG_UP, "hang-up", String(pid)]); // already gone: nothing to do
}
const HANG_UP =
  'p=$1; i=0; while kill -0 "$p" 2>/dev/null; do ' +
  '[ $i -ge 40 ] && { kill -KILL -- "-$p" 2>/dev/null || kill -KILL "$p" 2>/dev/null; exit 0; }; ' +
  'kill -HUP -- "-$p" 2>/dev/null || kill -HUP "$p" 2>/dev/null; i=$((i+1)); sleep 0.05; done';
