import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { InputError } from "../errors.ts";
import { lazyBuiltin } from "../util/lazy-builtin.ts";

// Only a docker context (its store is named by a hash) or a TLS engine needs these.
const crypto = lazyBuiltin<typeof import("node:crypto")>("node:crypto");
const https = lazyBuiltin<typeof import("node:https")>("node:https");

/**
 * Which engine a command talks to, chosen the way the docker CLI chooses: `--context NAME`, else
 * `-H URL`, else $DOCKER_HOST, else $DOCKER_CONTEXT, else the current context of the docker
 * CLI's config (`docker context use`), else the local socket.
 */
export interface EngineEndpoint {
  /** What users call it: a context's name, or the address. */
  readonly name: string;
  /** unix:///var/run/docker.sock, tcp://10.99.0.11:2376, ssh://user@host */
  readonly host: string;
  /** TLS client material (tcp:// with TLS). */
  readonly tls?: {
    readonly ca?: Buffer;
    readonly cert?: Buffer;
    readonly key?: Buffer;
    readonly verify: boolean;
  };
  /** Where the choice came from, for `fwlab doctor` and error messages. */
  readonly source: "--context" | "-H" | "DOCKER_HOST" | "DOCKER_CONTEXT" | "docker context use" | "default";
}

export interface EngineChoice {
  /** -H / --docker-host */
  readonly host?: string;
  /** --context */
  readonly context?: string;
}

export const DEFAULT_SOCKET = "/var/run/docker.sock";

export function resolveEndpoint(
  choice: EngineChoice = {},
  env: NodeJS.ProcessEnv = process.env,
): EngineEndpoint {
  if (choice.context && choice.host)
    throw new InputError("--context and -H name two engines; give one of them");
  if (choice.context) return fromContext(choice.context, "--context", env);
  if (choice.host) return fromHost(choice.host, "-H", env);
  if (env.DOCKER_HOST) return fromHost(env.DOCKER_HOST, "DOCKER_HOST", env);
  if (env.DOCKER_CONTEXT) return fromContext(env.DOCKER_CONTEXT, "DOCKER_CONTEXT", env);
  const current = currentContext(env);
  if (current && current !== "default") return fromContext(current, "docker context use", env);
  const socket = env.DOCKER_SOCKET ?? DEFAULT_SOCKET; // fwlab's own override, for tests
  return { name: "default", host: `unix://${socket}`, source: "default" };
}

/** The docker CLI's configuration folder ($DOCKER_CONFIG, else ~/.docker). */
export const dockerConfigDir = (env: NodeJS.ProcessEnv = process.env): string =>
  env.DOCKER_CONFIG ?? join(env.HOME ?? homedir(), ".docker");

function currentContext(env: NodeJS.ProcessEnv): string | undefined {
  const file = join(dockerConfigDir(env), "config.json");
  if (!existsSync(file)) return undefined;
  try {
    return (JSON.parse(readFileSync(file, "utf8")) as { currentContext?: string }).currentContext;
  } catch {
    return undefined; // the docker CLI's own problem; the default engine is used
  }
}

/** A context as `docker context create` stores it: meta.json and TLS files under a hash of its name. */
function fromContext(name: string, source: EngineEndpoint["source"], env: NodeJS.ProcessEnv): EngineEndpoint {
  if (name === "default") {
    const host = env.DOCKER_HOST ?? `unix://${env.DOCKER_SOCKET ?? DEFAULT_SOCKET}`;
    return { ...fromHost(host, source, env), name };
  }
  const id = crypto().createHash("sha256").update(name).digest("hex");
  const dir = dockerConfigDir(env);
  const metaFile = join(dir, "contexts", "meta", id, "meta.json");
  if (!existsSync(metaFile)) {
    throw new InputError(
      `no docker context named "${name}" (looked in ${join(dir, "contexts")}); \`docker context ls\` lists them`,
    );
  }
  let meta: { Endpoints?: { docker?: { Host?: string; SkipTLSVerify?: boolean } } };
  try {
    meta = JSON.parse(readFileSync(metaFile, "utf8"));
  } catch (err) {
    throw new InputError(`docker context "${name}": ${metaFile} is not JSON (${(err as Error).message})`);
  }
  const docker = meta.Endpoints?.docker;
  if (!docker?.Host) throw new InputError(`docker context "${name}" has no docker endpoint (${metaFile})`);
  const tlsDir = join(dir, "contexts", "tls", id, "docker");
  const file = (f: string) => (existsSync(join(tlsDir, f)) ? readFileSync(join(tlsDir, f)) : undefined);
  const tls = existsSync(tlsDir)
    ? { ca: file("ca.pem"), cert: file("cert.pem"), key: file("key.pem"), verify: !docker.SkipTLSVerify }
    : undefined;
  checkScheme(docker.Host, `docker context "${name}"`);
  return { name, host: docker.Host, tls, source };
}

function fromHost(host: string, source: EngineEndpoint["source"], env: NodeJS.ProcessEnv): EngineEndpoint {
  checkScheme(host, source);
  if (!host.startsWith("tcp://")) return { name: host, host, source };
  // As the docker CLI: DOCKER_TLS_VERIFY turns TLS on with verification, DOCKER_CERT_PATH
  // (default ~/.docker) holds ca.pem, cert.pem and key.pem.
  const verify = !!env.DOCKER_TLS_VERIFY && env.DOCKER_TLS_VERIFY !== "0";
  const certDir = env.DOCKER_CERT_PATH ?? dockerConfigDir(env);
  const file = (f: string) => {
    const path = join(certDir, f);
    if (existsSync(path)) return readFileSync(path);
    if (verify) throw new InputError(`DOCKER_TLS_VERIFY is set but ${path} is missing (DOCKER_CERT_PATH)`);
    return undefined;
  };
  const tls =
    verify || env.DOCKER_CERT_PATH
      ? { ca: file("ca.pem"), cert: file("cert.pem"), key: file("key.pem"), verify }
      : undefined;
  return { name: host, host, tls, source };
}

function checkScheme(host: string, where: string): void {
  if (!/^(unix|tcp|ssh):\/\/./.test(host))
    throw new InputError(
      `${where}: "${host}" is no engine address fwlab knows; use unix:///path, tcp://host:port or ssh://user@host`,
    );
}

/** The choice that names this endpoint again (for a worker process: contexts by name). */
export function choiceOf(e: EngineEndpoint): EngineChoice {
  return ["--context", "DOCKER_CONTEXT", "docker context use"].includes(e.source)
    ? { context: e.name }
    : { host: e.host };
}

/** dockerode's connection options for an endpoint. */
export function dockerOptions(e: EngineEndpoint): Record<string, unknown> {
  const url = new URL(e.host);
  if (url.protocol === "unix:") return { socketPath: url.pathname };
  if (url.protocol === "ssh:") {
    return {
      protocol: "ssh",
      host: url.hostname,
      port: url.port ? Number(url.port) : 22,
      username: decodeURIComponent(url.username) || undefined,
      sshOptions: { agent: process.env.SSH_AUTH_SOCK },
    };
  }
  const tls = e.tls;
  const port = url.port ? Number(url.port) : tls ? 2376 : 2375;
  if (!tls) return { protocol: "http", host: url.hostname, port };
  // An agent of our own: docker-modem passes no rejectUnauthorized, and a context may say
  // SkipTLSVerify. The same material goes to the modem for its hijacked (exec) requests.
  const material = { ca: tls.ca, cert: tls.cert, key: tls.key };
  return {
    protocol: "https",
    host: url.hostname,
    port,
    ...material,
    agent: new (https().Agent)({ ...material, rejectUnauthorized: tls.verify }),
  };
}

/** A lab's host as the lab file or `--hosts` names it: an engine URL, else a docker context. */
export const hostChoice = (name: string): EngineChoice =>
  name.includes("://") ? { host: name } : { context: name };
