import { FwlabError } from "../errors.ts";
import { lazyBuiltin } from "../util/lazy-builtin.ts";
import type { ContainerRuntime, ExecStream } from "./container-runtime.ts";
import type { ExecResult } from "./exec-result.ts";
import { ensureHelper } from "./helper-container.ts";
import { HOSTD_SOCKET, type HostShell } from "./host-shell.ts";

const readline = lazyBuiltin<typeof import("node:readline")>("node:readline");

const LEASE_BEAT_MS = 10_000;

interface Reply {
  id: number;
  exitCode?: number;
  stdout?: string;
  stderr?: string;
  durationMs?: number;
  data?: string;
  missing?: boolean;
  error?: string;
}

/** How long a host request may take (the longest are `ip -batch` runs of large labs: seconds). */
const CALL_TIMEOUT_MS = 60_000;
/** How long a wait for a semaphore's slot may take: behind a class's labs starting at once. */
const ACQUIRE_TIMEOUT_MS = 15 * 60_000;

interface Session {
  readonly stream: ExecStream;
  readonly pending: Map<number, (r: Reply) => void>;
  /** False once its stream ended: a request must not wait on it (nothing would answer). */
  alive: boolean;
}

/**
 * The host seam over the engine API: commands and files on the engine's host go to the host
 * helper (helper-container.ts) through one attached session per fwlab process, a JSON line each
 * way (about a millisecond, against ~40 ms for a `docker exec` each). The helper is started on
 * first use; a command that never needs the host (`status`) never starts it. The session keeps
 * the process alive only while a request is out, so a command ends when its work does.
 */
export class HelperShell implements HostShell {
  private session?: Promise<Session>;
  /** The session `session` resolved to (a timed-out request ends only its own). */
  private current?: Session;
  private helperId?: Promise<string>;
  private nextId = 1;

  constructor(
    private readonly runtime: ContainerRuntime,
    private readonly engineName: string,
  ) {}

  async run(argv: readonly string[], opts: { stdin?: string } = {}): Promise<ExecResult> {
    const r = await this.call({ op: "run", argv, stdin: opts.stdin });
    if (r.error) throw this.failure(`${argv[0]}`, r.error);
    return {
      exitCode: r.exitCode ?? -1,
      stdout: r.stdout ?? "",
      stderr: r.stderr ?? "",
      durationMs: r.durationMs ?? 0,
    };
  }

  async read(path: string): Promise<string | undefined> {
    const r = await this.call({ op: "read", path });
    if (r.error) throw this.failure(`reading ${path}`, r.error);
    return r.missing ? undefined : (r.data ?? "");
  }

  async write(path: string, data: string): Promise<void> {
    const r = await this.call({ op: "write", path, data });
    if (r.error) throw this.failure(`writing ${path}`, r.error);
  }

  async acquire(name: string, limit: number): Promise<() => Promise<void>> {
    const r = await this.call({ op: "acquire", name, limit }, ACQUIRE_TIMEOUT_MS);
    if (r.error) throw this.failure(`waiting for a slot of ${name}`, r.error);
    let given = false;
    return async () => {
      if (given) return;
      given = true;
      // Not given back here (the helper went away), it was by the end of the session that held
      // it (hostd.js): nothing is left held either way, so nothing to fail the caller on.
      await this.call({ op: "release", name }).catch(() => undefined);
    };
  }

  prepare(): void {
    this.open().catch(() => undefined); // open() forgets a failed session: the next call retries and says why
  }

  async close(): Promise<void> {
    const session = this.session;
    this.session = undefined;
    // Its end fails what is still asked (see open()); a session that never opened has nothing.
    await (await session?.catch(() => undefined))?.stream.stop();
  }

  async stream(argv: readonly string[]): Promise<ExecStream> {
    const stream = await this.runtime.execStream(await this.helper(), [...argv], { stdin: true });
    // The helper's lease (hostd.js): a line at least every 10 s, or it ends the command after 30 s.
    // Unref'd: a session this process no longer uses does not keep it running.
    const beat = setInterval(() => stream.write?.("\n"), LEASE_BEAT_MS).unref();
    void stream.ended.then(() => clearInterval(beat));
    return stream;
  }

  private failure(what: string, error: string): FwlabError {
    return new FwlabError(`on the host of engine ${this.engineName}, ${what} failed: ${error}`);
  }

  private helper(): Promise<string> {
    this.helperId ??= ensureHelper(this.runtime, this.engineName).catch((err: unknown) => {
      this.helperId = undefined; // the next call tries again
      throw err;
    });
    return this.helperId;
  }

  private async call(req: Record<string, unknown>, timeoutMs = CALL_TIMEOUT_MS): Promise<Reply> {
    let s = await this.open();
    // Its stream may have ended while this call waited for it: a new session then.
    if (!s.alive) s = await this.open();
    const id = this.nextId++;
    return new Promise<Reply>((resolve) => {
      if (!s.alive) return resolve({ id, error: "the host helper went away (its session ended)" });
      // A session whose helper was removed under it can stay open without an answer (the engine
      // keeps an exec's attach open): no request waits forever, and the session is made anew.
      const timer = setTimeout(() => {
        if (!s.pending.delete(id)) return;
        resolve({ id, error: `no answer from the host helper within ${timeoutMs / 1000} s` });
        if (s.alive) {
          s.alive = false;
          if (this.current === s) this.session = undefined;
          void s.stream.stop();
        }
      }, timeoutMs);
      s.pending.set(id, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
      s.stream.keepAlive?.(true);
      s.stream.write!(`${JSON.stringify({ id, ...req })}\n`);
    });
  }

  private open(): Promise<Session> {
    if (this.session) return this.session;
    const opened: Promise<Session> = (async () => {
      // A relay to the helper's daemon (socat starts in a millisecond, a node process in a
      // quarter of a second); a helper started a moment ago may not listen yet.
      const stream = await this.stream([
        "sh",
        "-c",
        `i=0; while [ ! -S ${HOSTD_SOCKET} ] && [ $i -lt 100 ]; do i=$((i+1)); sleep 0.05; done; ` +
          `[ -S ${HOSTD_SOCKET} ] || { echo "its image has no hostd daemon (older than this fwlab): run 'fwlab images', then 'fwlab down --all'" >&2; exit 1; }; ` +
          `exec socat - UNIX-CONNECT:${HOSTD_SOCKET}`,
      ]);
      const pending = new Map<number, (r: Reply) => void>();
      stream.keepAlive?.(false);
      readline()
        .createInterface({ input: stream.stdout })
        .on("line", (line) => {
          let r: Reply;
          try {
            r = JSON.parse(line) as Reply;
          } catch {
            return; // not the helper's: nothing waits for it
          }
          const done = pending.get(r.id);
          if (!done) return;
          pending.delete(r.id);
          if (pending.size === 0) stream.keepAlive?.(false);
          done(r);
        });
      let stderr = "";
      stream.stderr.on("data", (b: Buffer) => {
        stderr = (stderr + b.toString("utf8")).slice(-2000);
      });
      const session: Session = { stream, pending, alive: true };
      this.current = session;
      void stream.ended.then(() => {
        // The helper went away (removed by `down --all` elsewhere, its engine restarted): what
        // was asked fails now, and the next request starts a new session (and helper).
        session.alive = false;
        if (this.session === opened) this.session = undefined;
        this.helperId = undefined;
        const why = stderr.trim().split("\n").pop() || "its session ended";
        for (const [id, done] of pending) done({ id, error: `the host helper went away (${why})` });
        pending.clear();
      });
      return session;
    })().catch((err: unknown) => {
      if (this.session === opened) this.session = undefined;
      throw err;
    });
    this.session = opened;
    return opened;
  }
}
