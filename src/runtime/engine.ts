import { FwlabError } from "../errors.ts";
import type { ContainerRuntime } from "./container-runtime.ts";
import { DockerRuntime } from "./docker-runtime.ts";
import { dockerOptions, type EngineChoice, type EngineEndpoint, resolveEndpoint } from "./engine-endpoint.ts";
import { HelperShell } from "./helper-shell.ts";
import type { HostShell } from "./host-shell.ts";

/**
 * One engine, as everything above the runtime layer sees it: its containers (the engine seam)
 * and its host (the host seam, through the helper on that host). Built here and nowhere else,
 * then passed in: `lab/`, the runner, the server and the evidence sources never connect by
 * themselves, and tests hand them a fake.
 */
export interface Engine {
  /** What users call it ("default", a context's name, an address): in status and messages. */
  readonly name: string;
  readonly endpoint: EngineEndpoint;
  readonly runtime: ContainerRuntime;
  readonly host: HostShell;
}

const connected = new Map<string, Promise<Engine>>();

/**
 * Connects to the engine the user chose (engine-endpoint.ts: --context, -H, $DOCKER_HOST, a
 * docker context, else the local socket) and checks that it answers. One connection per engine
 * and process: callers share it, and its host helper session.
 */
export function connectEngine(choice: EngineChoice = {}): Promise<Engine> {
  const endpoint = resolveEndpoint(choice);
  const key = `${endpoint.name}|${endpoint.host}`;
  let engine = connected.get(key);
  if (!engine) {
    engine = open(endpoint);
    connected.set(key, engine);
    engine.catch(() => connected.delete(key));
  }
  return engine;
}

async function open(endpoint: EngineEndpoint): Promise<Engine> {
  const runtime = new DockerRuntime(dockerOptions(endpoint), endpoint.name);
  try {
    await runtime.ping();
  } catch (err) {
    const local = endpoint.source === "default";
    throw new FwlabError(
      `the Docker engine ${endpoint.name === endpoint.host ? endpoint.host : `${endpoint.name} (${endpoint.host})`} does not answer (${(err as Error).message}); ` +
        (local
          ? "run `npm run setup` to install and start one, or start dockerd"
          : `check the address and its TLS material (chosen by ${endpoint.source}), and that the engine runs`),
      1,
      { cause: err },
    );
  }
  return engineOf(endpoint, runtime);
}

/**
 * Ends this process's use of an engine: its host session, and any stream or terminal still
 * open. Commands that serve until interrupted (`serve`) call it last, so nothing they forgot
 * keeps them (or a process in a node) running. The next connectEngine() opens anew.
 */
export async function closeEngine(engine: Engine): Promise<void> {
  for (const [key, e] of connected) if ((await e.catch(() => undefined)) === engine) connected.delete(key);
  await Promise.allSettled([engine.host.close(), engine.runtime.close()]);
}

/** closeEngine() for every engine this process connected to: the CLI's last step. */
export async function closeEngines(): Promise<void> {
  const engines = await Promise.all([...connected.values()].map((e) => e.catch(() => undefined)));
  await Promise.all(engines.map((e) => e && closeEngine(e)));
}

/** An engine from a runtime: its host seam is the helper on that engine's host. */
export function engineOf(endpoint: EngineEndpoint, runtime: ContainerRuntime, host?: HostShell): Engine {
  return { name: endpoint.name, endpoint, runtime, host: host ?? new HelperShell(runtime, endpoint.name) };
}
