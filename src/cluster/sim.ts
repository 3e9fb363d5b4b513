import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { FwlabError, InputError } from "../errors.ts";
import { BUILT_IMAGES } from "../images/build-images.ts";
import { distributeImages } from "../images/distribute-images.ts";
import { connectHosts } from "../lab/lab-engines.ts";
import { removeLab } from "../lab/remove-lab.ts";
import { closeEngine, connectEngine, type Engine } from "../runtime/engine.ts";
import { HELPER_IMAGE } from "../runtime/helper-container.ts";
import { type Progress, seconds, silent } from "../util/progress.ts";
import { projectRoot } from "../util/project-root.ts";
import { listContexts, removeContext, writeContext } from "./docker-contexts.ts";
import { formSwarm, leaveSwarm } from "./form-swarm.ts";

const run = promisify(execFile);

/** The simulated hosts' docker contexts: fwsim-1, fwsim-2, ... */
export const SIM_PREFIX = "fwsim-";
const script = () => join(projectRoot(), "scripts", "remote-engine.sh");
const address = (i: number) => `10.99.0.1${i}`;

/**
 * A cluster on this machine (README "Several hosts", ../shared/FACTS.md): N engines, each in its
 * own network namespace with its own containerd and data root, on an underlay bridge (fwul0,
 * 10.99.0.0/24), reached over TCP with TLS through docker contexts fwsim-1..N, and formed into a
 * swarm (fwsim-1 its manager). It needs root on this machine (namespaces, bridges), unlike the
 * rest of fwlab. Its hosts share this machine's kernel: one kernel log, one nf_conntrack_max.
 */
export async function simUp(hosts: number, source: Engine, progress: Progress = silent): Promise<string[]> {
  if (!Number.isInteger(hosts) || hosts < 2 || hosts > 9)
    throw new InputError(`--hosts ${hosts}: a simulated cluster has 2 to 9 hosts`);
  if (process.getuid?.() !== 0)
    throw new FwlabError(
      "the simulated cluster makes network namespaces, bridges and engines on this machine: run `fwlab cluster sim up` as root",
      1,
    );
  const t0 = performance.now();
  const ids = Array.from({ length: hosts }, (_, i) => i + 1);
  progress(`Starting ${hosts} engines (each in its own network namespace, on bridge fwul0) ...`);
  await Promise.all(ids.map(startHost));
  const names = ids.map((i) => `${SIM_PREFIX}${i}`);
  const connect = async () =>
    new Map(await Promise.all(names.map(async (n) => [n, await connectEngine({ context: n })] as const)));
  let engines = await connect();
  // Each host's helper does the port checks: its image first, with the lab images (one stream:
  // they share their base layers).
  const have = await Promise.all(
    BUILT_IMAGES.map(async (r) => ((await source.runtime.images.imageId(r)) ? r : undefined)),
  );
  await distributeImages(
    source,
    engines,
    [HELPER_IMAGE, ...have.filter((r): r is string => !!r && r !== HELPER_IMAGE)],
    progress,
  );
  if (
    await forgetStaleSwarm(
      names.map((n) => ({ name: n, engine: engines.get(n)! })),
      progress,
    )
  ) {
    // An engine that left a swarm can keep its gossip listener (7946) bound: "Could not close
    // DB: timeout waiting for leave broadcast" in its log, and the port check then finds the
    // port taken. These engines are fwlab's own: restarted, they hold nothing.
    progress("Restarting the simulated engines, so that none holds the old swarm's ports ...");
    await Promise.all([...engines.values()].map((e) => closeEngine(e)));
    await Promise.all(ids.map((i) => run("sh", [script(), "down", String(i)])));
    await Promise.all(ids.map(startHost));
    engines = await connect();
  }
  await formSwarm(
    names.map((n, i) => ({ name: n, engine: engines.get(n)!, addr: address(i + 1) })),
    progress,
  );
  progress(
    `Simulated cluster up in ${seconds(t0)}: ${names.join(", ")} (docker contexts). ` +
      `Start a lab on it with \`fwlab up --hosts ${names.join(",")}\`; \`fwlab cluster sim down\` removes it all`,
  );
  return names;
}

/** Starts simulated host i's engine (or finds it up) and names it in a docker context. */
async function startHost(i: number): Promise<void> {
  try {
    await run("sh", [script(), "up", String(i)]);
  } catch (err) {
    throw new FwlabError(
      `simulated host ${i} did not start: ${(err as { stderr?: string }).stderr?.trim() || (err as Error).message}`,
    );
  }
  writeContext(`${SIM_PREFIX}${i}`, `tcp://${address(i)}:2376`, {
    description: `fwlab simulated host ${i} (network namespace fwr-${i})`,
    tlsDir: `/var/lib/fwr-${i}/client`,
  });
}

/** Removes the simulated cluster: its labs, its swarm, its engines and namespaces, its contexts. */
export async function simDown(opts: { purge?: boolean; progress?: Progress } = {}): Promise<string[]> {
  const progress = opts.progress ?? silent;
  const names = listContexts(SIM_PREFIX);
  // Only engines that answer: one that is already gone has nothing left to remove but its
  // namespace, which its script removes below.
  const found = await connectHosts(names);
  for (const u of found.unreachable)
    progress(`  ${u.host} does not answer (${u.reason}); its engine goes anyway`);
  const engines = [...found.engines].map(([name, engine]) => ({ name, engine }));
  for (const h of engines) {
    const r = await removeLab(h.engine, { all: true }).catch((err: Error) => {
      progress(`  ${h.name}: could not remove its labs (${err.message}); its engine goes anyway`);
      return undefined;
    });
    if (r && r.containers > 0) progress(`${h.name}: removed ${r.containers} containers of its labs`);
  }
  await leaveSwarm(engines, { force: true, progress }).catch((err: Error) =>
    progress(`  leaving the swarm: ${err.message}; the engines go anyway`),
  );
  await Promise.all(engines.map((h) => closeEngine(h.engine)));
  const numbers = names.map((n) => Number(n.slice(SIM_PREFIX.length))).filter((i) => i >= 1 && i <= 9);
  await Promise.all(numbers.map((i) => run("sh", [script(), opts.purge ? "purge" : "down", String(i)])));
  for (const n of names) removeContext(n);
  progress(
    names.length === 0
      ? "No simulated cluster to remove"
      : `Removed the simulated cluster: ${names.join(", ")}${opts.purge ? " (data roots too)" : " (their data roots stay under /var/lib/fwr-N, images included: `sim down --purge` removes them)"}`,
  );
  return names;
}

/**
 * A simulated host's data root outlives its engine, and with it the swarm it was in: a host
 * stopped mid-run never left, and comes back "pending" in a swarm whose manager lists it down.
 * The simulated engines are fwlab's own: unless all of them are in one swarm, all ready, every
 * one leaves (force) and the swarm is formed anew. True when they left one.
 */
async function forgetStaleSwarm(
  hosts: { name: string; engine: Engine }[],
  progress: Progress,
): Promise<boolean> {
  const infos = await Promise.all(hosts.map((h) => h.engine.runtime.info()));
  if (infos.every((i) => i.swarm.state === "inactive")) return false;
  const [first] = infos;
  const members = first?.swarm.manager ? await hosts[0]!.engine.runtime.swarm.nodes().catch(() => []) : [];
  // Only managers know the cluster's ID (a worker's `docker info` has none): a host is in the
  // first one's swarm when its manager lists it, ready.
  const healthy = infos.every(
    (i) => i.swarm.state === "active" && members.find((m) => m.id === i.swarm.nodeId)?.state === "ready",
  );
  if (healthy) return false;
  progress("The simulated hosts remember a swarm that is not whole: leaving it, to form it anew");
  await Promise.all(
    hosts.map((h, i) =>
      infos[i]!.swarm.state === "inactive" ? undefined : h.engine.runtime.swarm.leave(true),
    ),
  );
  return true;
}
