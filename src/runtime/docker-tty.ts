import { PassThrough, type Readable } from "node:stream";
import type Docker from "dockerode";

/** An interactive shell on a pseudo-terminal (the dashboard's terminal into a node). */
export interface TtySession {
  /** Terminal output: raw bytes, escape sequences included (a TTY has no separate stderr). */
  readonly output: Readable;
  readonly ended: Promise<void>;
  write(data: string): void;
  resize(cols: number, rows: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts argv on a pseudo-terminal in a container, for a person typing. `stop()` closes the
 * stream and hangs up the shell (its process group gets SIGHUP, as when a terminal closes).
 */
export async function execTty(
  docker: Docker,
  id: string,
  argv: string[],
  size: { cols: number; rows: number },
): Promise<TtySession> {
  const exec = await docker.getContainer(id).exec({
    Cmd: argv,
    AttachStdout: true,
    AttachStderr: true,
    AttachStdin: true,
    Tty: true,
    Env: ["TERM=xterm-256color"],
  });
  const stream = await exec.start({ hijack: true, stdin: true, Tty: true });
  await exec.resize({ w: size.cols, h: size.rows }).catch(() => {});
  const output = new PassThrough();
  stream.pipe(output);
  const ended = new Promise<void>((resolve) => {
    stream.on("end", resolve);
    stream.on("close", resolve);
    stream.on("error", () => resolve());
  });
  let stopping: Promise<void> | undefined;
  return {
    output,
    ended,
    write: (data) => void stream.write(data),
    resize: async (cols, rows) => {
      await exec.resize({ w: cols, h: rows }).catch(() => {});
    },
    stop: () => {
      stopping ??= (async () => {
        // Pid is the host's view of the exec (the engine is local: fwlab also uses nsenter); on
        // a TTY it leads its own process group, so the whole job is hung up.
        const pid = (await exec.inspect().catch(() => undefined))?.Pid;
        if (pid) {
          try {
            process.kill(-pid, "SIGHUP");
          } catch {}
        }
        stream.destroy();
      })();
      return stopping;
    },
  };
}
