import { FwlabError } from "../errors.ts";
import type { ContainerRuntime } from "../runtime/container-runtime.ts";
import { connectEngine, type Engine } from "../runtime/engine.ts";
import { allowLabBridges } from "../runtime/host-firewall.ts";
import {
  bridgeDevice,
  createBridges,
  type LabBridge,
  linkQueue,
  listBridges,
  vethDevice,
} from "../runtime/host-links.ts";
import { cidrsOverlap, parseCidr } from "../topology/ipv4.ts";
import type { LabSpec } from "../topology/lab-spec.ts";
import { macFor } from "../topology/mac-for.ts";
import { readLabFile } from "../topology/read-lab-file.ts";
import { type Progress, seconds, silent } from "../util/progress.ts";
import { labNodes } from "./find-lab.ts";
import { labStatus } from "./lab-status.ts";
import { nodeContainer } from "./node-container.ts";
import { removeLab } from "./remove-lab.ts";
import { StartedLab } from "./started-lab.ts";

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
  /** Where the time went, stage by stage (ms from the call): for `fwlab up --timings`. */
  readonly timings?: (stage: StartStage, ms: number) => void;
}

/**
 * Stages of `up`, in the order they end: checks (what runs, images, subnets), bridges (and the
 * host rules), created (the last container), started (the last one), linked (its veths), ready
 * (the last node's services answer), loaded (rulesets). Starts overlap: a node gets ready while
 * others start.
 */
export type StartStage = "checks" | "bridges" | "created" | "started" | "linked" | "ready" | "loaded";

/**
 * Starts a lab from a lab file and returns once every node's service answers (DNS answers a
 * query, sshd shows its banner, vsftpd greets, the web server answers). Networks and nodes
 * are created in parallel. If anything fails or the signal aborts, everything the call created
 * is removed before it throws.
 */
export async function startLab(file: string, opts: StartLabOptions = {}): Promise<StartedLab> {
  const spec = readLabFile(file, { name: opts.name, allowUnsafe: opts.allowUnsafe });
  return startLabSpec(spec, opts);
}

export async function startLabSpec(spec: LabSpec, opts: StartLabOptions = {}): Promise<StartedLab> {
  const progress = opts.progress ?? silent;
  const engine = opts.engine ?? (await connectEngine());
  const { runtime, host } = engine;
  const started = performance.now();
  const stage = (s: StartStage) => opts.timings?.(s, performance.now() - started);

  const existing = await labStatus(runtime, spec.name);
  if (existing.nodes.length > 0) {
    // Up only if every node answered: a killed `up` can leave running nodes that never got
    // their links, and those are cleaned and made again.
    if (existing.ready && existing.nodes.length === spec.nodes.length) {
      progress(`Lab ${spec.name} is already up (${existing.nodes.length} nodes)`);
      return new StartedLab(spec.name, engine, existing.nodes);
    }
    progress(
      `Removing what an earlier run of lab ${spec.name} left behind (${existing.nodes.length} containers)`,
    );
  }
  // Bridges without containers can be left too (a kill before the containers were made).
  const [bridgesNow] = await Promise.all([listBridges(host), checkImages(runtime, spec)]);
  if (existing.nodes.length > 0 || bridgesNow.some((b) => b.lab === spec.name))
    await removeLab(engine, spec.name);
  checkSubnets(spec, bridgesNow);
  stage("checks");

  const readyTimeoutMs = opts.readyTimeoutMs ?? 30_000;
  progress(`Starting lab ${spec.name}: ${spec.networks.length} networks, ${spec.nodes.length} nodes ...`);
  const bridges = spec.networks.map((n) => ({
    lab: spec.name,
    network: n.name,
    subnet: n.subnet,
    device: bridgeDevice(spec.name, n.name),
  }));
  // Containers are created all at once (cheap); the first ones start while the rest are created.
  const ids = spec.nodes.map((n) =>
    runtime.createContainer(nodeContainer(spec, n, Math.ceil(readyTimeoutMs / 1000))),
  );
  void Promise.all(ids).then(
    () => stage("created"),
    () => {},
  );
  for (const id of ids) id.catch(() => {}); // awaited below; a failure is thrown from there
  const link = linkQueue(host);
  const ready: Promise<void>[] = [];
  let failed = false;
  try {
    await createBridges(host, bridges);
    await allowLabBridges(
      host,
      spec.name,
      bridges.map((b) => b.device),
    );
    stage("bridges");
    // Starts share the engine's CPU: all at once, each takes as long as all of them and every
    // node waits for its links meanwhile. A few at a time, a node is linked and getting ready
    // while the next start. Slow-to-ready roles (daemons to start) go first.
    await inPool(startOrder(spec), START_CONCURRENCY, async (i) => {
      if (failed || opts.signal?.aborted) return;
      const n = spec.nodes[i]!;
      const t0 = performance.now();
      const id = await ids[i]!;
      const pid = await runtime.startContainer(id);
      stage("started");
      // The node's init waits for these links, then addresses them and starts its services.
      await link(
        n.interfaces.map((itf) => ({
          pid,
          bridge: bridgeDevice(spec.name, itf.network),
          hostIf: vethDevice(spec.name, n.name, itf.network),
          nodeIf: itf.ifname,
          mac: macFor(itf.address),
        })),
      );
      stage("linked");
      const r = waitReady(runtime, spec.name, n, id, t0, readyTimeoutMs, progress, opts.signal);
      r.catch(() => {
        failed = true; // start no more nodes: the lab is removed anyway
      });
      ready.push(r);
    });
    if (opts.signal?.aborted) throw new FwlabError(`lab ${spec.name}: start aborted`, 130);
    await Promise.all(ready);
    stage("ready");
    const lab = new StartedLab(spec.name, engine, await labNodes(runtime, spec.name));
    for (const n of spec.nodes) {
      if (!n.ruleset) continue;
      const loaded = await lab.loadRuleset(n.name, n.ruleset, { backend: n.backend });
      progress(`  ${n.name}: loaded ${loaded.rules} rules from ${n.ruleset}`);
    }
    stage("loaded");
    progress(`Lab ${spec.name} is up in ${seconds(started)}`);
    return lab;
  } catch (err) {
    progress(`Lab ${spec.name} did not come up; removing what was created`);
    await Promise.allSettled([...ids, ...ready]); // nothing may be created after the removal
    await removeLab(engine, spec.name).catch((cleanup: Error) => {
      progress(
        `  removing it failed too (${cleanup.message}); \`fwlab down --name ${spec.name}\` tries again`,
      );
    });
    throw err;
  }
}

/** How many node starts go to the engine at once (measured on 2 cores: bench/up-50-nodes.ts). */
const START_CONCURRENCY = 8;

/** Roles whose readiness waits for a daemon to answer start first; clients are ready at once. */
const startOrder = (spec: LabSpec): number[] =>
  spec.nodes.map((_, i) => i).sort((a, b) => rank(spec.nodes[a]!) - rank(spec.nodes[b]!));
const rank = (n: LabSpec["nodes"][number]): number => (n.firewall ? 0 : n.role === "client" ? 2 : 1);

/** Runs fn over items, at most `limit` at a time; rejects with the first error once in-flight calls end. */
async function inPool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let error: unknown;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length && error === undefined) {
        await fn(items[next++]!).catch((err: unknown) => {
          error ??= err;
        });
      }
    }),
  );
  if (error !== undefined) throw error;
}

/** Follows a node's output until its init reports "fwlab-ready" or why it is not. */
async function waitReady(
  runtime: ContainerRuntime,
  lab: string,
  n: LabSpec["nodes"][number],
  id: string,
  t0: number,
  readyTimeoutMs: number,
  progress: Progress,
  signal?: AbortSignal,
): Promise<void> {
  const r = await runtime.waitForLine(
    id,
    (l) => (l === "fwlab-ready" ? "ready" : l.startsWith("fwlab-failed:") ? l : undefined),
    readyTimeoutMs + 2000,
    signal,
  );
  if (r.value === "ready") return progress(`  ${n.name} ready (${n.role}) in ${seconds(t0)}`);
  if (r.reason === "aborted") throw new FwlabError(`lab ${lab}: start aborted`, 130);
  const why =
    r.value ??
    (r.reason === "timeout" ? `not ready after ${readyTimeoutMs / 1000}s` : "its container exited");
  throw new FwlabError(
    `[${n.name}] ${why.replace(/^fwlab-failed: /, "")}\n  last output:\n${r.lines
      .slice(-8)
      .map((l) => `    ${l}`)
      .join("\n")}`,
  );
}

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
