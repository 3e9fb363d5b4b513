import { FwlabError } from "../errors.ts";

/**
 * An engine that stopped answering mid-command says so in words, not as a socket error: the
 * command fails at once (no hang), and the next works once the engine is back.
 */
export async function engineCall<T>(engine: string, what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code && ["ECONNREFUSED", "ENOENT", "ECONNRESET", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH"].includes(code))
      throw new FwlabError(
        `the Docker engine ${engine} went away during ${what} (${code}); once it answers again${engine === "default" ? " (`npm run setup` starts a local one)" : ""}, run the command again`,
        1,
        { cause: err },
      );
    throw err;
  }
}
