import type { ExecStream } from "./container-runtime.ts";
import type { ExecResult } from "./exec-result.ts";

/**
 * The host seam: what fwlab does on the engine's host (bridges and veths, the host's firewall,
 * sysctls, the kernel log, a node's namespace), as commands and files there. The real one runs
 * them in the host helper container on that engine (helper-shell.ts), so fwlab itself needs
 * nothing but the engine API; tests use a fake that records what was asked.
 *
 * Paths and PIDs are the engine host's: /proc/sys/..., /proc/<pid>/net/dev of a PID the engine
 * reported.
 */
export interface HostShell {
  /** Runs argv on the engine's host. Never throws on a non-zero exit: the caller decides. */
  run(argv: readonly string[], opts?: { stdin?: string }): Promise<ExecResult>;
  /** A file's text; undefined when it does not exist. */
  read(path: string): Promise<string | undefined>;
  /** Writes a file (a sysctl under /proc/sys, say); throws with the host's reason. */
  write(path: string, data: string): Promise<void>;
  /**
   * Takes a slot of the host's semaphore `name`, waiting while `limit` are held, and returns
   * what gives it back. Shared by every fwlab process using the host (the helper's daemon keeps
   * them); a process that ends, killed or not, gives back what it held.
   */
  acquire(name: string, limit: number): Promise<() => Promise<void>>;
  /** A long-running command on the host, its output streamed (the kernel log follower). */
  stream(argv: readonly string[]): Promise<ExecStream>;
  /**
   * Starts the session now, in the background, for a command that knows it will need the host:
   * the helper's start-up (a docker exec and a node process, a quarter of a second here) then
   * overlaps the command's own. A failure is the next call's to report.
   */
  prepare(): void;
  /** Ends this process's session with the host (what is still asked fails). */
  close(): Promise<void>;
}

/** The helper's own program, in its image (images/roles/hostd). */
export const HOSTD = "/usr/local/lib/fwlab/hostd.js";
/** Where its main process (`hostd.js daemon`) takes sessions, inside the helper. */
export const HOSTD_SOCKET = "/run/fwlab/hostd.sock";
