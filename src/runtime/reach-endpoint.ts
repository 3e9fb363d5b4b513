import { connect } from "node:net";

/** Where an engine listens, as dockerode's options (engine-endpoint.ts dockerOptions) say. */
export interface SocketOptions {
  readonly socketPath?: string;
  readonly host?: string;
  readonly port?: number | string;
  readonly protocol?: string;
}

/**
 * Whether an engine's socket accepts a connection within `ms`: a host that is gone (its address
 * unreachable, its packets dropped, its engine stopped) fails here fast, while an engine that is
 * merely busy (a machine starting several labs at once) accepts and answers late. ssh://
 * endpoints go through ssh, which has its own connect timeout: they pass here.
 */
export function reachEndpoint(opts: SocketOptions, ms: number): Promise<void> {
  if (opts.protocol === "ssh") return Promise.resolve();
  const where = opts.socketPath ?? `${opts.host}:${opts.port}`;
  return new Promise((resolve, reject) => {
    const socket =
      typeof opts.socketPath === "string"
        ? connect(opts.socketPath)
        : connect({ host: String(opts.host), port: Number(opts.port) });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`${where} accepts no connection within ${ms / 1000} s`));
    }, ms);
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.destroy();
      resolve();
    });
    socket.once("error", (err) => {
      clearTimeout(timer);
      reject(new Error(`${where}: ${err.message}`));
    });
  });
}
