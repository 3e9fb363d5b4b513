import { labNodes, listLabs, nodesOf } from "../lab/find-lab.ts";
import { findLabEngines } from "../lab/lab-engines.ts";
import type { Engine } from "../runtime/engine.ts";
import type { LabSummary } from "./protocol.ts";

/**
 * The labs on the dashboard's engine, each with every node it has: a multi-host lab's nodes are
 * asked of each of its hosts (a host that does not answer leaves its nodes out, and is named).
 */
export async function labSummaries(engine: Engine): Promise<LabSummary[]> {
  return Promise.all(
    [...(await listLabs(engine.runtime))].map(async ([name, containers]) => {
      const { engines, unreachable } = await findLabEngines(engine, name, containers);
      if (engines.size === 1 && unreachable.length === 0)
        return { name, engine: engine.name, hosts: [engine.name], nodes: nodesOf(containers, engine.name) };
      const nodes = await Promise.all(
        [...engines].map(([host, e]) => labNodes(e.runtime, name, host).catch(() => [])),
      );
      return {
        name,
        engine: engine.name,
        hosts: [...engines.keys(), ...unreachable.map((u) => u.host)],
        unreachable: unreachable.map((u) => u.host),
        nodes: nodes.flat().sort((a, b) => a.name.localeCompare(b.name)),
      };
    }),
  );
}
