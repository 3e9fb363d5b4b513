import { type Agent as HttpAgent, request as httpRequest, type IncomingMessage } from "node:http";
import type { Agent as HttpsAgent } from "node:https";
import { lazyBuiltin } from "../util/lazy-builtin.ts";

// Over TLS only (a remote engine): loading it costs a local command a tenth of its time.
const https = lazyBuiltin<typeof import("node:https")>("node:https");

/** Where an engine's API listens, as engine-endpoint.ts dockerOptions() says (not ssh://). */
export interface HttpEndpointOptions {
  readonly socketPath?: string;
  readonly protocol?: string;
  readonly host?: string;
  readonly port?: number | string;
  readonly agent?: HttpAgent | HttpsAgent;
  readonly ca?: string | Buffer;
  readonly cert?: string | Buffer;
  readonly key?: string | Buffer;
}

/** An error answer of the engine: its HTTP status (engine-errors.ts reads statusCode) and message. */
export class EngineHttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(`(HTTP code ${statusCode}) ${message}`);
  }
}

/**
 * GET requests to an engine's API with nothing but Node's HTTP client: what read-only commands
 * (`status`, the lab lookups of every command) ask an engine, without loading dockerode and its
 * stream libraries (a fifth of a short command's time). Unversioned paths, as dockerode's.
 */
export class EngineHttp {
  private constructor(private readonly opts: HttpEndpointOptions) {}

  /** A client for an endpoint reached over a unix socket or TCP (with TLS or not); none over ssh. */
  static for(opts: HttpEndpointOptions): EngineHttp | undefined {
    if (opts.socketPath || opts.protocol === "http" || opts.protocol === "https") return new EngineHttp(opts);
    return undefined;
  }

  /** The answer's body; an engine's error answer is thrown as an EngineHttpError. */
  get(path: string, query: Record<string, string | number | boolean | undefined> = {}): Promise<Buffer> {
    const search = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) search.set(k, String(v));
    const full = search.size > 0 ? `${path}?${search}` : path;
    const o = this.opts;
    const overTls = o.protocol === "https";
    return new Promise((resolve, reject) => {
      const onAnswer = (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on("data", (b: Buffer) => chunks.push(b));
        res.on("error", reject);
        res.on("end", () => {
          const body = Buffer.concat(chunks);
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) return resolve(body);
          let message = body.toString("utf8").trim();
          try {
            message = (JSON.parse(message) as { message?: string }).message ?? message;
          } catch {
            // not JSON: the body as it is
          }
          reject(new EngineHttpError(status, message));
        });
      };
      // servername "" where no TLS runs: Node would otherwise test the host against its IPv6
      // pattern to choose one, compiling that pattern on every CLI start (14 ms here). Over TLS
      // the engine's name goes as Node chooses it (SNI, and the certificate's check).
      const plain = { path: full, method: "GET", servername: "", agent: o.agent };
      const req = o.socketPath
        ? httpRequest({ ...plain, socketPath: o.socketPath }, onAnswer)
        : overTls
          ? https().request(
              {
                path: full,
                method: "GET",
                agent: o.agent,
                host: o.host,
                port: Number(o.port),
                ca: o.ca,
                cert: o.cert,
                key: o.key,
              },
              onAnswer,
            )
          : httpRequest({ ...plain, host: o.host, port: Number(o.port) }, onAnswer);
      req.on("error", reject);
      req.end();
    });
  }

  async json<T>(path: string, query: Record<string, string | number | boolean | undefined> = {}): Promise<T> {
    return JSON.parse((await this.get(path, query)).toString("utf8")) as T;
  }
}
