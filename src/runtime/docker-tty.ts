import { PassThrough } from "node:stream";
import type Docker from "dockerode";
import type { TtySession } from "./container-runtime.ts";

/**
 * Starts argv on a pseudo-terminal in a container, for a person typing. `stop()` closes the
 * stream; the engine API cannot signal an exec, so the shell is hung up by the host helper
 * (StartedLab.shell) from the PID `processId()` reports.
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
  // A resize that fails (the shell already gone) changes nothing a person would see.
  await exec.resize({ w: size.cols, h: size.rows }).catch(() => {});
  const output = new PassThrough();
  stream.pipe(output);
  const ended = new Promise<void>((resolve) => {
    stream.on("end", resolve);
    stream.on("close", resolve);
    stream.on("error", () => resolve());
  });
  return {
    output,
    ended,
    write: (data) => void stream.write(data),
    resize: async (cols, rows) => {
      await exec.resize({ w: cols, h: rows }).catch(() => {});
    },
    processId: async () => (await exec.inspect().catch(() => undefined))?.Pid || undefined,
    stop: async () => {
      stream.destroy();
    },
  };
}
