import { listLabs } from "../lab/find-lab.ts";
import { findLabNodes } from "../lab/lab-engines.ts";
import type { Engine } from "../runtime/engine.ts";
import { lastRunOf } from "../scenarios/last-run.ts";
import type { LabSummary } from "./protocol.ts";

/**
 * The labs on the dashboard's engine, each with every node it has: a multi-host lab's nodes are
 * asked of each of its hosts (a host that does not answer leaves its nodes out, and is named).
 */
export async function labSummaries(engine: Engine): Promise<LabSummary[]> {
  return Promise.all(
    [...(await listLabs(engine.runtime))].map(async ([name, containers]) => {
      const { engines, unreachable, nodes } = await findLabNodes(engine, name, containers);
      return {
        name,
        engine: engine.name,
        hosts: [...engines.keys(), ...unreachable.map((u) => u.host)],
        ...(unreachable.length > 0 ? { unreachable: unreachable.map((u) => u.host) } : {}),
        nodes,
        lastRun: lastRunOf(name),
      };
    }),
  );
}
