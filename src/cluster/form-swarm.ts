import { FwlabError, InputError } from "../errors.ts";
import type { Engine } from "../runtime/engine.ts";
import { LABEL } from "../runtime/labels.ts";
import { type Progress, seconds, silent } from "../util/progress.ts";
import { checkManagerPort, checkSwarmPorts, describeProblems, MANAGER_PORT } from "./check-ports.ts";

/** The label fwlab puts on a swarm it formed: `cluster leave` undoes only those. */
export const FWLAB_SWARM = "fwlab.cluster";

export interface ClusterHost {
  /** As the user names it: a docker context or an engine URL. */
  readonly name: string;
  readonly engine: Engine;
  /** The address it advertises to the other hosts. */
  readonly addr: string;
}

/**
 * The address a host advertises: `--advertise NAME=ADDR` if given, else the address in its
 * engine URL (tcp://10.99.0.12:2376 advertises 10.99.0.12). A unix socket has none to offer.
 */
export function advertiseAddress(name: string, engine: Engine, given: ReadonlyMap<string, string>): string {
  const addr = given.get(name) ?? hostPart(engine.endpoint.host);
  if (!addr)
    throw new InputError(
      `host ${name} (${engine.endpoint.host}) has no address the other hosts could reach it by; give one with --advertise ${name}=ADDRESS`,
    );
  if (!/^[A-Za-z0-9.:-]+$/.test(addr)) throw new InputError(`--advertise ${name}=${addr}: not an address`);
  return addr;
}

const hostPart = (url: string): string | undefined => {
  if (!/^(tcp|ssh):\/\//.test(url)) return undefined;
  const h = new URL(url).hostname;
  return h === "localhost" || h.startsWith("127.") ? undefined : h;
};

/**
 * Forms a swarm of these hosts, the first as its manager, the others as workers; hosts already
 * in it are left as they are. Refuses, saying what to do, hosts in another swarm and hosts that
 * do not reach each other on the swarm's ports (checked first: checkSwarmPorts).
 */
export async function formSwarm(hosts: readonly ClusterHost[], progress: Progress = silent): Promise<void> {
  if (hosts.length < 2)
    throw new InputError("a cluster needs two hosts or more: `fwlab cluster init a b [c ...]`");
  const t0 = performance.now();
  const states = await Promise.all(
    hosts.map(async (h) => ({ h, swarm: (await h.engine.runtime.info()).swarm })),
  );
  const [first, ...rest] = states;
  let managerSwarm = first!.swarm;
  if (managerSwarm.state === "active" && !managerSwarm.manager)
    throw new FwlabError(
      `${first!.h.name} is a swarm worker; name a manager first (\`fwlab cluster status ${first!.h.name}\` shows its managers)`,
    );
  const members = managerSwarm.state === "active" ? await first!.h.engine.runtime.swarm.nodes() : [];
  const ids = new Set(members.map((m) => m.id));
  const strangers = rest.filter((s) => s.swarm.state === "active" && !ids.has(s.swarm.nodeId));
  if (strangers.length > 0)
    throw new FwlabError(
      `${strangers.map((s) => s.h.name).join(", ")} ${strangers.length > 1 ? "are" : "is"} in another swarm; \`fwlab cluster leave ${strangers.map((s) => s.h.name).join(" ")}\` first (or \`docker swarm leave\` there)`,
    );
  const joining = states.filter((s) => s.swarm.state !== "active");
  if (joining.length === 0) {
    progress(`${hosts.map((h) => h.name).join(", ")} are in one swarm already`);
    return;
  }
  progress(`Checking that the hosts reach each other (7946/tcp+udp, 4789/udp) ...`);
  const problems = await checkSwarmPorts(joining.map((s) => s.h));
  if (problems.length > 0)
    throw new FwlabError(
      `the hosts do not reach each other on the swarm's ports: ${describeProblems(problems)}; ` +
        "open them between the hosts (a firewall, or the DOCKER-USER chain of a machine they share) and try again",
    );
  if (managerSwarm.state !== "active") {
    progress(`${first!.h.name}: forming a swarm (manager, advertising ${first!.h.addr})`);
    await first!.h.engine.runtime.swarm.init(first!.h.addr, { [FWLAB_SWARM]: "fwlab" });
    managerSwarm = (await first!.h.engine.runtime.info()).swarm;
  }
  const { workerToken } = await first!.h.engine.runtime.swarm.inspect();
  const managerAddr = `${managerSwarm.nodeAddr || first!.h.addr}:${MANAGER_PORT}`;
  for (const s of joining.filter((j) => j !== first)) {
    if (!(await checkManagerPort(s.h, managerSwarm.nodeAddr || first!.h.addr)))
      throw new FwlabError(
        `${s.h.name} cannot reach the manager ${first!.h.name} at ${managerAddr}/tcp; open the port between them and run \`fwlab cluster init\` again (what joined stays)`,
      );
    progress(`${s.h.name}: joining as a worker (advertising ${s.h.addr})`);
    await s.h.engine.runtime.swarm.join(workerToken, managerAddr, s.h.addr);
  }
  // Joined is not yet ready: the manager sees a new node ready once its gossip arrives.
  const deadline = Date.now() + 30_000;
  for (;;) {
    const nodes = await first!.h.engine.runtime.swarm.nodes();
    const infos = await Promise.all(hosts.map((h) => h.engine.runtime.info()));
    const notReady = hosts.filter(
      (_, i) => nodes.find((n) => n.id === infos[i]!.swarm.nodeId)?.state !== "ready",
    );
    if (notReady.length === 0) break;
    if (Date.now() > deadline)
      throw new FwlabError(
        `the manager ${first!.h.name} does not see ${notReady.map((h) => h.name).join(", ")} ready after 30 s (ports 7946/tcp+udp between the hosts?)`,
      );
    await new Promise((r) => setTimeout(r, 300));
  }
  progress(`Swarm of ${hosts.length} hosts ready in ${seconds(t0)}: ${first!.h.name} manages it`);
}

/**
 * Makes these hosts leave the swarm fwlab formed (workers first, the manager last). Refuses a
 * swarm fwlab did not form, unless `force`, and hosts where labs still run (their overlays).
 */
export async function leaveSwarm(
  hosts: readonly { name: string; engine: Engine }[],
  opts: { force?: boolean; progress?: Progress } = {},
): Promise<void> {
  const progress = opts.progress ?? silent;
  const states = await Promise.all(
    hosts.map(async (h) => ({ h, swarm: (await h.engine.runtime.info()).swarm })),
  );
  const members = states.filter((s) => s.swarm.state !== "inactive");
  if (members.length === 0) return progress(`${hosts.map((h) => h.name).join(", ")}: in no swarm`);
  const busy = (
    await Promise.all(
      members.map(async (s) =>
        (await s.h.engine.runtime.listContainers({ [LABEL.lab]: true })).length > 0 ? [s.h.name] : [],
      ),
    )
  ).flat();
  if (busy.length > 0)
    throw new FwlabError(
      `labs still run on ${busy.join(", ")}; \`fwlab down --all\` there first (their overlays need the swarm)`,
      1,
    );
  const manager = members.find((s) => s.swarm.manager);
  if (manager && !opts.force) {
    const { labels } = await manager.h.engine.runtime.swarm.inspect();
    if (labels[FWLAB_SWARM] !== "fwlab")
      throw new FwlabError(
        `the swarm of ${manager.h.name} was not formed by fwlab; leave it with \`docker swarm leave\`, or \`fwlab cluster leave --force\``,
      );
  }
  const order = [...members.filter((s) => !s.swarm.manager), ...members.filter((s) => s.swarm.manager)];
  for (const s of order) {
    progress(`${s.h.name}: leaving the swarm (${s.swarm.manager ? "manager" : "worker"})`);
    await s.h.engine.runtime.swarm.leave(s.swarm.manager);
  }
}
