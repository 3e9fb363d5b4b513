import { FwlabError } from "../errors.ts";
import type { ContainerInfo } from "../runtime/container-runtime.ts";
import type { Engine } from "../runtime/engine.ts";
import { removeHelpers } from "../runtime/helper-container.ts";
import { removeHostIsolation, removeLabBridgeRules } from "../runtime/host-firewall.ts";
import { removeBridges } from "../runtime/host-links.ts";
import { LABEL } from "../runtime/labels.ts";
import { listLabs } from "./find-lab.ts";
import { findLabEngines, type LabEngines, type Unreachable } from "./lab-engines.ts";

export interface Removed {
  readonly containers: number;
  readonly networks: number;
  /** Hosts of a multi-host lab that did not answer: what runs there is left. */
  readonly unreachable: readonly Unreachable[];
  /** What could not be removed for now, and why (an overlay still used by a host that is away). */
  readonly left?: readonly string[];
}

/**
 * Removes everything of a lab (or of every fwlab lab): its containers, killed and removed in
 * parallel, then its bridges, then its rules in the host firewall, on every host it spans, and
 * last its overlay networks. Idempotent, and it needs nothing but Docker labels and bridge
 * aliases, so it also cleans what a crashed `up` left. Hosts that do not answer are skipped and
 * returned; the others are cleaned all the same. `down --all` also removes the host helpers of
 * engines where no lab is left.
 */
export async function removeLab(
  engine: Engine,
  lab: string | { all: true },
  known?: LabEngines,
  knownUnreachable: readonly Unreachable[] = [],
): Promise<Removed> {
  if (typeof lab !== "string") return removeAll(engine);
  // This engine's listing serves twice: which hosts the lab spans, and what to remove here.
  const mine = known ? undefined : await engine.runtime.listContainers({ [LABEL.lab]: lab });
  const { engines, unreachable } = known
    ? { engines: known, unreachable: [...knownUnreachable] }
    : await findLabEngines(engine, lab, mine);
  // Across hosts, one that fails is named and the others are cleaned all the same; a lab on one
  // engine fails as it always did.
  const spans = engines.size > 1 || unreachable.length > 0;
  const removed = await Promise.all(
    [...engines].map(([host, e]) =>
      removeOnHost(e, lab, e === engine ? mine : undefined).catch((err: Error) => {
        if (!spans) throw err;
        unreachable.push({ host, reason: err.message });
        return { containers: 0, networks: 0 };
      }),
    ),
  );
  const overlays = spans
    ? await removeOverlays([...engines.values()], lab, unreachable.length === 0)
    : { removed: 0, left: [] };
  return {
    containers: removed.reduce((n, r) => n + r.containers, 0),
    networks: removed.reduce((n, r) => n + r.networks, 0) + overlays.removed,
    unreachable,
    ...(overlays.left.length > 0 ? { left: overlays.left } : {}),
  };
}

/** Every lab that has anything on this engine (on all of its hosts), then what is left here. */
async function removeAll(engine: Engine): Promise<Removed> {
  const names = new Set((await listLabs(engine.runtime)).keys());
  const nets = await engine.runtime.networks.list({ [LABEL.lab]: true }).catch(() => []);
  for (const n of nets) names.add(n.labels[LABEL.lab]!);
  const found = await Promise.all([...names].map(async (l) => ({ l, ...(await findLabEngines(engine, l)) })));
  const each = await Promise.all(
    found.map(async (f) => {
      return removeLab(engine, f.l, f.engines, f.unreachable);
    }),
  );
  const rest = await removeOnHost(engine, { all: true });
  // Helpers go where nothing of fwlab is left: this engine, and the other hosts of its labs.
  const engines = new Set<Engine>([engine, ...found.flatMap((f) => [...f.engines.values()])]);
  await Promise.all(
    [...engines].map(async (e) => {
      const left = await e.runtime.listContainers().catch(() => undefined);
      if (left?.length !== 0) return;
      // This process's session with the helper ends first: the next request makes a new one.
      await e.host.close();
      await removeHelpers(e.runtime);
    }),
  );
  return {
    containers: each.reduce((n, r) => n + r.containers, rest.containers),
    networks: each.reduce((n, r) => n + r.networks, rest.networks),
    unreachable: each.flatMap((r) => r.unreachable),
    ...(each.some((r) => r.left) ? { left: each.flatMap((r) => r.left ?? []) } : {}),
  };
}

/** A lab's containers, bridges and host rules on one engine's host. */
async function removeOnHost(
  engine: Engine,
  lab: string | { all: true },
  listed?: readonly ContainerInfo[],
): Promise<{ containers: number; networks: number }> {
  const { runtime, host } = engine;
  const filter = typeof lab === "string" ? { [LABEL.lab]: lab } : { [LABEL.lab]: true as const };
  const containers = listed ?? (await runtime.listContainers(filter));
  // The host's side does not wait for the nodes to die: fwlab's bridges and veths (Docker knows
  // nothing of them) and its rules go meanwhile, which hides their round trips to the helper
  // behind the engine's kills (`down` took 1.6 s where removing the containers alone took 0.6).
  const hostSide = async () => {
    const [bridges] = await Promise.all([
      removeBridges(host, typeof lab === "string" ? lab : undefined),
      removeLabBridgeRules(host, lab),
    ]);
    // The host's isolation tables stay while any lab bridge is left (removeHostIsolation looks).
    await removeHostIsolation(host);
    return bridges.length;
  };
  const [, networks] = await Promise.all([
    Promise.all(containers.map((c) => runtime.removeContainer(c.id))),
    hostSide(),
  ]);
  return { containers: containers.length, networks };
}

/**
 * A lab's overlays, removed through a manager once its containers are gone on every host. A
 * worker tells the managers that its endpoints left a moment after its containers go, so a
 * network still in use is tried again for a while, when every host answered; one used by the
 * containers of a host that is away stays until that host answers again (or leaves the swarm).
 */
async function removeOverlays(
  engines: readonly Engine[],
  lab: string,
  allAnswered: boolean,
): Promise<{ removed: number; left: string[] }> {
  let manager: Engine | undefined;
  for (const e of engines) {
    if ((await e.runtime.info().catch(() => undefined))?.swarm.manager) {
      manager = e;
      break;
    }
  }
  if (!manager) {
    // Overlays of an engine that left its swarm went with it; none to remove then.
    const any = (
      await Promise.all(engines.map((e) => e.runtime.networks.list({ [LABEL.lab]: lab }).catch(() => [])))
    ).flat();
    if (any.length === 0) return { removed: 0, left: [] };
    // The manager may be among the hosts that do not answer: what is left is said, not thrown.
    if (!allAnswered)
      return {
        removed: 0,
        left: any.map(
          (n) =>
            `overlay ${n.name} needs a swarm manager to go, and none of the hosts that answer is one; \`fwlab down --name ${lab}\` removes it once the manager answers`,
        ),
      };
    throw new FwlabError(
      `lab ${lab}: its overlay networks (${any.map((n) => n.name).join(", ")}) can only be removed through a swarm manager, and none of ${engines.map((e) => e.name).join(", ")} is one; run \`fwlab down\` through a manager's engine`,
    );
  }
  const nets = await manager.runtime.networks.list({ [LABEL.lab]: lab });
  const deadline = Date.now() + (allAnswered ? 20_000 : 0);
  const left: string[] = [];
  let removed = 0;
  await Promise.all(
    nets.map(async (n) => {
      for (;;) {
        try {
          await manager.runtime.networks.remove(n.id);
          removed++;
          return;
        } catch (err) {
          const inUse = /active endpoints|in use/.test((err as Error).message);
          if (inUse && Date.now() < deadline) {
            await new Promise((r) => setTimeout(r, 250));
            continue;
          }
          if (!inUse) throw err;
          left.push(
            `overlay ${n.name} is still in use by the swarm (${allAnswered ? "Docker did not let go of it within 20 s" : "by nodes of a host that does not answer"}); \`fwlab down --name ${lab}\` removes it once every host answers`,
          );
          return;
        }
      }
    }),
  );
  // Removed on the manager is not yet gone everywhere: each engine that had nodes on an overlay
  // drops its own copy a moment later, and a lab started at once on the same subnets would find
  // it. Wait (a while) until no engine lists them.
  const gone = async () =>
    (
      await Promise.all(engines.map((e) => e.runtime.networks.list({ [LABEL.lab]: lab }).catch(() => [])))
    ).every((l) => l.every((n) => left.some((x) => x.includes(n.name))));
  const until = Date.now() + 15_000;
  while (removed > 0 && !(await gone())) {
    if (Date.now() > until) {
      left.push(`lab ${lab}'s overlays are removed but some engines still list them after 15 s`);
      break;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { removed, left };
}
