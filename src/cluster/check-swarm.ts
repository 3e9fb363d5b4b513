import { FwlabError } from "../errors.ts";
import type { SwarmState } from "../runtime/container-runtime.ts";
import type { Engine } from "../runtime/engine.ts";

/**
 * Checks that the engines of a multi-host lab are members of one swarm, with a manager among
 * them (overlays are made through it), and returns that manager. Says what to do otherwise.
 */
export async function checkSwarm(engines: ReadonlyMap<string, Engine>): Promise<Engine> {
  const states = await Promise.all(
    [...engines].map(async ([host, e]) => ({ host, e, swarm: (await e.runtime.info()).swarm })),
  );
  const names = [...engines.keys()].join(" ");
  const outside = states.filter((s) => s.swarm.state !== "active");
  if (outside.length > 0)
    throw new FwlabError(
      `${list(outside.map((s) => s.host))} ${outside.length > 1 ? "are" : "is"} not in a swarm (${outside.map((s) => `${s.host}: ${s.swarm.state}`).join(", ")}); ` +
        `a lab across hosts needs its engines in one: \`fwlab cluster init ${names}\``,
    );
  const manager = states.find((s) => s.swarm.manager);
  if (!manager)
    throw new FwlabError(
      `none of ${names.split(" ").join(", ")} is a swarm manager: fwlab makes a lab's overlay networks through one; add a manager's engine to the lab's hosts, or \`docker node promote\` one of them`,
    );
  const members = new Map((await manager.e.runtime.swarm.nodes()).map((n) => [n.id, n]));
  const strangers = states.filter((s) => !members.has(s.swarm.nodeId));
  if (strangers.length > 0)
    throw new FwlabError(
      `${list(strangers.map((s) => s.host))} ${strangers.length > 1 ? "are" : "is"} in another swarm than ${manager.host}; ` +
        `make them leave theirs (\`fwlab cluster leave\` on them) and form one: \`fwlab cluster init ${names}\``,
    );
  const down = states.filter((s) => members.get(s.swarm.nodeId)!.state !== "ready");
  if (down.length > 0)
    throw new FwlabError(
      `the swarm manager ${manager.host} sees ${down.map((s) => `${s.host} as ${members.get(s.swarm.nodeId)!.state}`).join(", ")}: ` +
        "their engines answer fwlab but not the swarm (ports 2377/tcp, 7946/tcp+udp and 4789/udp between the hosts); `fwlab cluster status` shows more",
    );
  return manager.e;
}

const list = (hosts: string[]) => (hosts.length === 1 ? `engine ${hosts[0]}` : `engines ${hosts.join(", ")}`);

export const swarmRole = (s: SwarmState): string =>
  s.state !== "active" ? s.state : s.manager ? "manager" : "worker";
