import { FwlabError } from "../errors.ts";

export const SOCKET = process.env.DOCKER_SOCKET ?? "/var/run/docker.sock";

/**
 * An engine that stopped answering mid-command says so in words, not as a socket error: the
 * command fails at once (no hang), and the next works once the engine is back.
 */
export async function engineCall<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code && ["ECONNREFUSED", "ENOENT", "ECONNRESET", "EPIPE"].includes(code))
      throw new FwlabError(
        `the Docker engine went away during ${what} (${code} on ${SOCKET}); once it is back (\`npm run setup\` starts it), run the command again`,
        1,
        { cause: err },
      );
    throw err;
  }
}
