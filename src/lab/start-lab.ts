import { checkSwarm } from "../cluster/check-swarm.ts";
import { FwlabError, HostsBusy } from "../errors.ts";
import { distributeImages } from "../images/distribute-images.ts";
import type { ContainerRuntime } from "../runtime/container-runtime.ts";
import { connectEngine, type Engine } from "../runtime/engine.ts";
import { HELPER_IMAGE } from "../runtime/helper-container.ts";
import { allowLabBridges } from "../runtime/host-firewall.ts";
import {
  bridgeDevice,
  createBridges,
  type LabBridge,
  linkQueue,
  listBridges,
  vethDevice,
} from "../runtime/host-links.ts";
import { LABEL } from "../runtime/labels.ts";
import { cidrsOverlap, parseCidr } from "../topology/ipv4.ts";
import type { LabSpec, NodeSpec } from "../topology/lab-spec.ts";
import { macFor } from "../topology/mac-for.ts";
import { overlayReservation } from "../topology/overlay-reservation.ts";
import { isMultiHost, networkHosts, placeLab } from "../topology/place-lab.ts";
import { readLabFile } from "../topology/read-lab-file.ts";
import { byName } from "../util/by-name.ts";
import { inPool } from "../util/in-pool.ts";
import { type Progress, seconds, silent } from "../util/progress.ts";
import { labNodes } from "./find-lab.ts";
import { connectHosts, type LabEngines, oneEngine } from "./lab-engines.ts";
import { statusOf } from "./lab-status.ts";
import { nodeContainer } from "./node-container.ts";
import { removeLab } from "./remove-lab.ts";
import { StartedLab } from "./started-lab.ts";
import { waitReady } from "./wait-ready.ts";

export interface StartLabOptions {
  /** Lab name (default: x-fwlab.name in the file, else "fwlab"). Several labs can run side by side. */
  readonly name?: string;
  readonly progress?: Progress;
  readonly signal?: AbortSignal;
  /** How long a node's services may take to answer (default 30 s). */
  readonly readyTimeoutMs?: number;
  /** The engine to start it on (default: the one the environment names; runtime/engine.ts). */
  readonly engine?: Engine;
  /** Let the lab file grant what reaches beyond the lab (`--allow-unsafe`; topology/unsafe-options.ts). */
  readonly allowUnsafe?: boolean;
  /** Where the time went: when each stage ended, in ms since the process started (`fwlab up --timings`). */
  readonly timings?: (stage: StartStage, ms: number) => void;
  /** Engines to spread the lab over (`fwlab up --hosts`), replacing the file's x-fwlab.hosts. */
  readonly hosts?: readonly string[];
  /** Engines already connected, by host name (tests pass fakes); the others are connected by name. */
  readonly engines?: ReadonlyMap<string, Engine>;
}

/**
 * Stages of `up`, in the order they end: read (the lab file, checked), checks (what runs, images,
 * subnets), bridges (and the host rules), created (the last container), started (the last one),
 * linked (its veths), ready (the last node's services answer), loaded (rulesets). Starts
 * overlap: a node gets ready while others start.
 */
export type StartStage =
  | "read"
  | "checks"
  | "bridges"
  | "created"
  | "started"
  | "linked"
  | "ready"
  | "loaded";

/**
 * Starts a lab from a lab file and returns once every node's service answers (DNS answers a
 * query, sshd shows its banner, vsftpd greets, the web server answers). Networks and nodes
 * are created in parallel. If anything fails or the signal aborts, everything the call created
 * is removed before it throws.
 */
export async function startLab(file: string, opts: StartLabOptions = {}): Promise<StartedLab> {
  const spec = readLabFile(file, { name: opts.name, allowUnsafe: opts.allowUnsafe });
  opts.timings?.("read", performance.now());
  return startLabSpec(spec, opts);
}

export async function startLabSpec(given: LabSpec, opts: StartLabOptions = {}): Promise<StartedLab> {
  const progress = opts.progress ?? silent;
  const engine = opts.engine ?? (await connectEngine());
  const spec = placeLab(given, opts.hosts);
  const started = performance.now();
  const stage = (s: StartStage) => opts.timings?.(s, performance.now());

  // The engines: the one the command talks to, or each host of a lab that spans several.
  let engines: LabEngines = oneEngine(engine);
  if (isMultiHost(spec)) {
    const found = await connectHosts(spec.hosts!, new Map([[engine.name, engine], ...(opts.engines ?? [])]));
    if (found.unreachable.length > 0)
      throw new FwlabError(
        `lab ${spec.name}: ${found.unreachable.map((u) => `host ${u.host} does not answer (${u.reason})`).join("; ")}`,
      );
    engines = found.engines;
    // Every host's helper session starts now, while the checks below run.
    for (const e of engines.values()) e.host.prepare();
  }
  const hostOf = (n: NodeSpec): string => n.host ?? engine.name;
  const engineOf = (n: NodeSpec): Engine => engines.get(hostOf(n))!;

  const existing = await Promise.all([...engines].map(([h, e]) => labNodes(e.runtime, spec.name, h)));
  const existingNodes = existing.flat().sort(byName);
  if (existingNodes.length > 0) {
    const status = await Promise.all(
      [...engines].map(([, e], i) => statusOf(e.runtime, spec.name, existing[i]!)),
    );
    // Up only if every node answered: a killed `up` can leave running nodes that never got
    // their links, and those are cleaned and made again.
    if (status.every((s) => s.ready || s.nodes.length === 0) && existingNodes.length === spec.nodes.length) {
      progress(`Lab ${spec.name} is already up (${existingNodes.length} nodes)`);
      return new StartedLab(spec.name, engines, existingNodes);
    }
    progress(
      `Removing what an earlier run of lab ${spec.name} left behind (${existingNodes.length} containers)`,
    );
  }
  // Across hosts: one swarm, the images on every engine (sent where they lack), overlays made
  // through the manager for networks whose nodes sit on several hosts.
  const spans = isMultiHost(spec)
    ? [...networkHosts(spec)].filter(([, hosts]) => hosts.length > 1).map(([net]) => net)
    : [];
  // The checks all at once: a swarm only where a network spans hosts (a lab pinned to one host
  // needs none); the images, sent first where they lack (the helpers need theirs); and what
  // runs already. Bridges without containers can be left too (a kill before they were made).
  const [manager] = await Promise.all([
    spans.length > 0 ? checkSwarm(engines) : Promise.resolve(undefined),
    isMultiHost(spec)
      ? distributeImages(
          engine,
          engines,
          [...new Set([...spec.nodes.map((n) => n.image), HELPER_IMAGE])],
          progress,
        )
      : checkImages(engine.runtime, spec),
  ]);
  const [bridgesNow, overlaysNow] = await Promise.all([
    Promise.all([...engines.values()].map((e) => listBridges(e.host))).then((b) => b.flat()),
    manager ? manager.runtime.networks.list({ [LABEL.lab]: true }) : Promise.resolve([]),
  ]);
  if (
    existingNodes.length > 0 ||
    bridgesNow.some((b) => b.lab === spec.name) ||
    overlaysNow.some((n) => n.labels[LABEL.lab] === spec.name)
  ) {
    const r = await removeLab(engine, spec.name, engines);
    if (r.left?.length)
      throw new FwlabError(
        `lab ${spec.name}: what an earlier run left cannot be removed yet: ${r.left.join("; ")}`,
      );
  }
  checkSubnets(spec, [
    ...bridgesNow,
    ...overlaysNow.map((n) => ({
      lab: n.labels[LABEL.lab]!,
      network: n.labels[LABEL.network] ?? n.name,
      subnet: n.labels[LABEL.subnet] ?? n.subnet,
      device: n.name,
    })),
  ]);
  const overlays = new Map(spans.map((net) => [net, overlayName(spec.name, net)]));
  const reservations = spans.map((net) => ({ net, r: reserve(spec, net) }));
  stage("checks");

  const readyTimeoutMs = opts.readyTimeoutMs ?? 30_000;
  progress(
    `Starting lab ${spec.name}: ${spec.networks.length} networks, ${spec.nodes.length} nodes` +
      (isMultiHost(spec) ? ` on ${engines.size} hosts (${spans.length} overlay networks)` : "") +
      " ...",
  );
  // A network on one host is a bridge there.
  const bridgesOn = new Map<Engine, LabBridge[]>();
  for (const [net, hosts] of networkHosts(spec)) {
    if (overlays.has(net)) continue;
    // A network no node uses is still made, on the lab's first host (down cleans only its hosts).
    const e = engines.get(hosts[0] ?? "") ?? [...engines.values()][0]!;
    bridgesOn.set(e, [
      ...(bridgesOn.get(e) ?? []),
      {
        lab: spec.name,
        network: net,
        subnet: spec.networks.find((n) => n.name === net)!.subnet,
        device: bridgeDevice(spec.name, net),
      },
    ]);
  }
  const made = (async () => {
    if (!manager) return;
    await Promise.all(
      reservations.map(({ net, r }) =>
        manager!.runtime.networks.createOverlay({
          name: overlays.get(net)!,
          subnet: spec.networks.find((n) => n.name === net)!.subnet,
          ipRange: r.ipRange,
          gateway: r.gateway,
          labels: {
            [LABEL.lab]: spec.name,
            [LABEL.network]: net,
            [LABEL.subnet]: spec.networks.find((n) => n.name === net)!.subnet,
            [LABEL.hosts]: spec.hosts!.join(","),
          },
        }),
      ),
    );
  })();
  made.catch(() => {}); // awaited below; a failure is thrown from there
  // Containers are created all at once (cheap); the first ones start while the rest are created.
  const ids = spec.nodes.map(async (n) => {
    await made; // a node on an overlay needs it first
    return engineOf(n).runtime.createContainer(
      nodeContainer(spec, n, Math.ceil(readyTimeoutMs / 1000), overlays),
    );
  });
  void Promise.all(ids).then(
    () => stage("created"),
    () => {},
  );
  for (const id of ids) id.catch(() => {}); // awaited below; a failure is thrown from there
  const links = new Map([...engines.values()].map((e) => [e, linkQueue(e.host)]));
  const ready: Promise<void>[] = [];
  let failed = false;
  try {
    await Promise.all(
      [...bridgesOn].map(async ([e, bridges]) => {
        await createBridges(e.host, bridges);
        await allowLabBridges(
          e.host,
          spec.name,
          bridges.map((b) => b.device),
        );
      }),
    );
    await made;
    stage("bridges");
    // Starts share the engine's CPU: all at once, each takes as long as all of them and every
    // node waits for its links meanwhile. A few at a time, a node is linked and getting ready
    // while the next start. Slow-to-ready roles (daemons to start) go first.
    await inPool(startOrder(spec), START_CONCURRENCY * engines.size, async (i) => {
      if (failed || opts.signal?.aborted) return;
      const n = spec.nodes[i]!;
      const e = engineOf(n);
      const t0 = performance.now();
      const id = await ids[i]!;
      const onOverlay = n.interfaces.some((itf) => overlays.has(itf.network));
      const pid = await (onOverlay
        ? overlayStart(e, () => e.runtime.startContainer(id))
        : e.runtime.startContainer(id)
      ).catch((err: Error) => {
        if (/attaching to network failed.*deadline exceeded/.test(err.message))
          throw new HostsBusy(
            `[${n.name}] on ${hostOf(n)}: the swarm did not attach it to its overlay networks within the engine's 20 s (${err.message.replace(/^.*?attaching/, "attaching")}): the hosts are too busy for this many starts at once; start fewer labs at a time, then \`fwlab up\` again`,
          );
        throw err;
      });
      stage("started");
      // The node's init waits for these links, then addresses them and starts its services.
      await links.get(e)!(
        n.interfaces
          .filter((itf) => !overlays.has(itf.network))
          .map((itf) => ({
            pid,
            bridge: bridgeDevice(spec.name, itf.network),
            hostIf: vethDevice(spec.name, n.name, itf.network),
            nodeIf: itf.ifname,
            mac: macFor(itf.address),
          })),
      );
      stage("linked");
      const where = isMultiHost(spec) ? ` on ${hostOf(n)}` : "";
      const r = waitReady(e.runtime, spec.name, n, id, t0, readyTimeoutMs, progress, opts.signal, where);
      r.catch(() => {
        failed = true; // start no more nodes: the lab is removed anyway
      });
      ready.push(r);
    });
    if (opts.signal?.aborted) throw new FwlabError(`lab ${spec.name}: start aborted`, 130);
    await Promise.all(ready);
    stage("ready");
    const nodes = (await Promise.all([...engines].map(([h, e]) => labNodes(e.runtime, spec.name, h))))
      .flat()
      .sort(byName);
    const lab = new StartedLab(spec.name, engines, nodes);
    for (const n of spec.nodes) {
      if (!n.ruleset) continue;
      const loaded = await lab.loadRuleset(n.name, n.ruleset, { backend: n.backend });
      progress(`  ${n.name}: loaded ${loaded.rules} rules from ${n.ruleset}`);
      for (const note of loaded.notes) progress(`  ${n.name}: ${note}`);
    }
    stage("loaded");
    progress(`Lab ${spec.name} is up in ${seconds(started)}`);
    return lab;
  } catch (err) {
    progress(`Lab ${spec.name} did not come up; removing what was created`);
    await Promise.allSettled([made, ...ids, ...ready]); // nothing may be created after the removal
    await removeLab(engine, spec.name, engines).catch((cleanup: Error) => {
      progress(
        `  removing it failed too (${cleanup.message}); \`fwlab down --name ${spec.name}\` tries again`,
      );
    });
    throw err;
  }
}

/** A lab network's overlay: one name per lab and network in the swarm ("_" is in neither name). */
const overlayName = (lab: string, network: string): string => `fwlab-${lab}_${network}`;

/** Where Docker's own addresses go on an overlay (topology/overlay-reservation.ts), or why none fits. */
function reserve(spec: LabSpec, net: string): { ipRange: string; gateway: string } {
  const subnet = spec.networks.find((n) => n.name === net)!.subnet;
  const used = spec.nodes.flatMap((n) => n.interfaces.filter((i) => i.network === net).map((i) => i.address));
  const r = overlayReservation(subnet, used, spec.hosts?.length ?? 1);
  if (!r)
    throw new FwlabError(
      `lab ${spec.name}: network ${net} (${subnet}) spans hosts, and an overlay needs a block of free addresses for Docker's own (one per host and a gateway) that this subnet does not have; use a bigger subnet, or place its nodes on one host (x-fwlab.host)`,
      2,
    );
  return r;
}

/** How many node starts go to the engine at once (measured on 2 cores: bench/up-50-nodes.ts). */
const START_CONCURRENCY = 8;

/**
 * A start that joins an overlay waits, inside the engine, for the swarm to allocate it an
 * address and for the host to make its side of the overlay, and the engine gives that 20 s
 * ("attaching to network failed ... context deadline exceeded"; moby daemon/cluster/networks.go).
 * Many at once on a host make each slow: six labs starting at once across three simulated hosts
 * all failed so, while three at once took 40 s and one lab 13 s. So a host gets at most
 * OVERLAY_STARTS_PER_HOST of them at a time, from every fwlab process that uses it (a class's
 * `fwlab up`s at once): a slot of the host helper's semaphore each; the others wait here, where
 * no deadline runs.
 */
export const OVERLAY_STARTS_PER_HOST = 2;
async function overlayStart<T>(e: Engine, start: () => Promise<T>): Promise<T> {
  const giveBack = await e.host.acquire("overlay-starts", OVERLAY_STARTS_PER_HOST);
  try {
    return await start();
  } finally {
    await giveBack();
  }
}

/** Roles whose readiness waits for a daemon to answer start first; clients are ready at once. */
const startOrder = (spec: LabSpec): number[] =>
  spec.nodes.map((_, i) => i).sort((a, b) => rank(spec.nodes[a]!) - rank(spec.nodes[b]!));
const rank = (n: LabSpec["nodes"][number]): number => (n.firewall ? 0 : n.role === "client" ? 2 : 1);

async function checkImages(runtime: ContainerRuntime, spec: LabSpec): Promise<void> {
  const images = [...new Set(spec.nodes.map((n) => n.image))];
  const missing = (
    await Promise.all(images.map(async (i) => ((await runtime.images.imageId(i)) ? undefined : i)))
  ).filter(Boolean);
  if (missing.length > 0) {
    throw new FwlabError(
      `image${missing.length > 1 ? "s" : ""} ${missing.join(", ")} not found; build them with \`fwlab images\` (or \`npm run setup\`)`,
    );
  }
}

/**
 * Lab bridges are isolated from the host and from each other, but two labs on the same subnets
 * would make their evidence ambiguous (the host's kernel log does not say which namespace a
 * LOG line came from; addresses and MACs do). So subnets may not overlap across labs.
 */
function checkSubnets(spec: LabSpec, bridges: readonly LabBridge[]): void {
  const others = bridges.filter((b) => b.lab !== spec.name);
  for (const net of spec.networks) {
    const mine = parseCidr(net.subnet)!;
    const clash = others.find((o) => cidrsOverlap(mine, parseCidr(o.subnet)!));
    if (clash) {
      throw new FwlabError(
        `lab ${spec.name}: network ${net.name} (${net.subnet}) overlaps network ${clash.network} (${clash.subnet}) of running lab "${clash.lab}"; ` +
          `stop it with \`fwlab down --name ${clash.lab}\` or use a lab file with other subnets`,
        2,
      );
    }
  }
}
