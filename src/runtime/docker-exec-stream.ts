import { PassThrough } from "node:stream";
import type Docker from "dockerode";
import type { ExecStream } from "./container-runtime.ts";

/**
 * Starts a long-running command in a container and streams its output. Docker has no API to
 * kill an exec, and fwlab signals no PID the engine reports: `stop()` ends the command by ending
 * its input.
 * `stop()` is idempotent; the process also ends when its container does. stdin is always attached: when fwlab goes away (even killed -9) the engine closes it, and
 * the command ends with it: a command reading stdin itself must exit at its end; for the
 * others a watchdog in the shell kills them (it reads a copy of stdin, fd 3: a background
 * job's own stdin is /dev/null in a shell without job control).
 */
export async function execStream(
  docker: Docker,
  id: string,
  argv: string[],
  opts: { stdin?: boolean } = {},
): Promise<ExecStream> {
  const watchdog =
    'exec 3<&0; "$@" </dev/null & c=$!; (cat <&3 >/dev/null; kill $c) >/dev/null 2>&1 & exec 3<&-; wait $c';
  const exec = await docker.getContainer(id).exec({
    Cmd: opts.stdin ? argv : ["sh", "-c", watchdog, "fwlab-stream", ...argv],
    AttachStdout: true,
    AttachStderr: true,
    AttachStdin: true,
  });
  const stream = await exec.start({ hijack: true, stdin: true });
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  docker.modem.demuxStream(stream, stdout, stderr);
  const ended = new Promise<void>((resolve) => {
    stream.on("end", resolve);
    stream.on("close", resolve);
    stream.on("error", () => resolve());
  });
  ended.then(() => {
    stdout.end();
    stderr.end();
    stream.destroy(); // closes stdin: the watchdog of a command that ended goes too
  });
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      // The end of its input ends the command: its watchdog sends SIGTERM (a command reading
      // stdin itself ends at its end), it flushes and exits (tcpdump writes its last packets
      // and its counts then), and its last output still comes back. No docker exec to kill
      // it; the stream is cut only if it does not end within 2 s.
      // The timer keeps the process alive while a caller waits: a stream whose connection is
      // unref'd (the helper session) must still finish stopping before the process exits.
      stream.end();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([ended, new Promise((r) => (timer = setTimeout(r, 2000)))]);
      clearTimeout(timer);
      stream.destroy();
    })();
    return stopping;
  };
  return {
    stdout,
    stderr,
    ended,
    stop,
    write: (text: string) => {
      stream.write(text);
    },
    exitCode: async () => (await exec.inspect()).ExitCode ?? -1,
    keepAlive: (on: boolean) => {
      // The hijacked connection: a socket (unix, TCP, TLS); an ssh channel has no such switch.
      const socket = stream as { ref?: () => void; unref?: () => void };
      if (on) socket.ref?.();
      else socket.unref?.();
    },
  };
}
