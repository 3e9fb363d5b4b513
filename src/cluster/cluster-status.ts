import { listLabs } from "../lab/find-lab.ts";
import type { SwarmNode, SwarmState } from "../runtime/container-runtime.ts";
import type { Engine } from "../runtime/engine.ts";
import { LABEL } from "../runtime/labels.ts";

export interface HostStatus {
  readonly name: string;
  readonly endpoint: string;
  /** Why it could not be asked, when it could not. */
  readonly error?: string;
  readonly swarm?: SwarmState;
  /** The host helper's container, when one runs. */
  readonly helper?: string;
  /** Labs with nodes here: name → node count. */
  readonly labs: Readonly<Record<string, number>>;
  /** The swarm's nodes, as a manager sees them. */
  readonly members?: readonly SwarmNode[];
}

/** What `fwlab cluster status` shows of each engine: membership, role, helper, what it runs. */
export async function hostStatus(name: string, engine: Engine | Error): Promise<HostStatus> {
  if (engine instanceof Error) return { name, endpoint: "", error: engine.message, labs: {} };
  try {
    const [info, labs, helpers] = await Promise.all([
      engine.runtime.info(),
      listLabs(engine.runtime),
      engine.runtime.listContainers({ [LABEL.helper]: "hostd" }),
    ]);
    const members = info.swarm.manager ? await engine.runtime.swarm.nodes() : undefined;
    return {
      name,
      endpoint: engine.endpoint.host,
      swarm: info.swarm,
      helper: helpers.find((h) => h.state === "running")?.name,
      labs: Object.fromEntries(
        [...labs].filter(([l]) => !l.startsWith("_")).map(([l, cs]) => [l, cs.length]),
      ),
      members,
    };
  } catch (err) {
    return { name, endpoint: engine.endpoint.host, error: (err as Error).message, labs: {} };
  }
}
