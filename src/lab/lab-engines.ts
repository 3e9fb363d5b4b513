import type { ContainerInfo } from "../runtime/container-runtime.ts";
import { connectEngine, type Engine } from "../runtime/engine.ts";
import { dockerOptions, hostChoice, resolveEndpoint } from "../runtime/engine-endpoint.ts";
import { LABEL } from "../runtime/labels.ts";
import { reachEndpoint } from "../runtime/reach-endpoint.ts";
import { byName } from "../util/by-name.ts";
import { labNodes, nodesOf } from "./find-lab.ts";
import type { LabNode } from "./lab-node.ts";

/** The engines a lab runs on, by host name (as the lab file or --hosts names them). */
export type LabEngines = ReadonlyMap<string, Engine>;

/** How long a host has to accept a connection, then to answer: see connectHosts. */
export const HOST_LIMITS = { connectMs: 5_000, answerMs: 60_000 };

/** A host of a lab that did not answer, and why. */
export interface Unreachable {
  readonly host: string;
  readonly reason: string;
}

/** A single-host lab's engines: the one it runs on, under its own name. */
export const oneEngine = (engine: Engine): LabEngines => new Map([[engine.name, engine]]);

/**
 * Connects to the hosts of a multi-host lab; `known` (the engine the command talks to, when it
 * is one of them) is used as it is. Hosts that do not answer are returned apart, with why.
 */
export async function connectHosts(
  hosts: readonly string[],
  known: ReadonlyMap<string, Engine> = new Map(),
  limits = HOST_LIMITS,
): Promise<{ engines: Map<string, Engine>; unreachable: Unreachable[] }> {
  const engines = new Map<string, Engine>();
  const unreachable: Unreachable[] = [];
  await Promise.all(
    hosts.map(async (h) => {
      try {
        // A host that is gone fails the connect (5 s: a host that drops packets would hold it
        // for minutes); an engine that accepts is busy, not gone, and gets 60 s to answer: a
        // machine starting several labs at once answers in seconds, not milliseconds.
        const was = known.get(h);
        await (was
          ? was.runtime.reach(limits.connectMs)
          : reachEndpoint(dockerOptions(resolveEndpoint(hostChoice(h))), limits.connectMs));
        const e = await within(limits.answerMs, async () => {
          const e = was ?? (await connectEngine(hostChoice(h)));
          await e.runtime.version();
          return e;
        });
        engines.set(h, e);
      } catch (err) {
        unreachable.push({ host: h, reason: (err as Error).message });
      }
    }),
  );
  // In the order the lab lists them: the first is the lab's first host everywhere.
  return {
    engines: new Map(hosts.flatMap((h) => (engines.has(h) ? [[h, engines.get(h)!] as const] : []))),
    unreachable,
  };
}

/**
 * The engines of a running lab, found from the one the command talks to: a multi-host lab's
 * containers and overlays carry the list of its hosts (LABEL.hosts), so any of its engines
 * leads to the others. A lab without that label runs on `engine` alone.
 */
export async function findLabEngines(
  engine: Engine,
  lab: string,
  containers?: readonly ContainerInfo[],
): Promise<{ engines: LabEngines; unreachable: Unreachable[] }> {
  const mine = containers ?? (await engine.runtime.listContainers({ [LABEL.lab]: lab }));
  let labels = mine.find((c) => c.labels[LABEL.hosts])?.labels;
  // A `kill -9` during a multi-host `up` can leave overlays and no container on this engine.
  if (!labels && mine.length === 0) {
    const nets = await engine.runtime.networks.list({ [LABEL.lab]: lab }).catch(() => []);
    labels = nets.find((n) => n.labels[LABEL.hosts])?.labels;
  }
  const hosts = labels?.[LABEL.hosts]?.split(",").filter(Boolean);
  if (!hosts?.length) return { engines: oneEngine(engine), unreachable: [] };
  const self = mine.find((c) => c.labels[LABEL.host])?.labels[LABEL.host];
  return connectHosts(hosts, self ? new Map([[self, engine]]) : new Map());
}

/**
 * A running lab's nodes on every host it spans, found through one of its engines: `mine` is
 * that engine's listing of the lab's containers (listed here when not given), used for both
 * which hosts, and its own nodes. A host whose listing fails joins `unreachable`.
 */
export async function findLabNodes(
  engine: Engine,
  lab: string,
  mine?: readonly ContainerInfo[],
): Promise<{ engines: LabEngines; unreachable: Unreachable[]; nodes: LabNode[] }> {
  const here = mine ?? (await engine.runtime.listContainers({ [LABEL.lab]: lab }));
  const { engines, unreachable } = await findLabEngines(engine, lab, here);
  const nodes = await Promise.all(
    [...engines].map(async ([host, e]) => {
      try {
        return e === engine ? nodesOf(here, host) : await labNodes(e.runtime, lab, host);
      } catch (err) {
        unreachable.push({ host, reason: (err as Error).message });
        return [];
      }
    }),
  );
  return { engines, unreachable, nodes: nodes.flat().sort(byName) };
}

/** A host's first answer, or why not within `ms`. */
async function within<T>(ms: number, fn: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      fn(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`it accepts connections but answers nothing within ${ms / 1000} s`)),
          ms,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
