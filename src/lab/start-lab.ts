import { FwlabError } from "../errors.ts";
import { bridgeName, DockerRuntime } from "../runtime/docker-runtime.ts";
import { allowLabBridges } from "../runtime/host-firewall.ts";
import { hostResolvers, hostRoutes } from "../runtime/host-network.ts";
import { LABEL } from "../runtime/labels.ts";
import { cidrContains, cidrsOverlap, parseCidr, parseIpv4 } from "../topology/ipv4.ts";
import type { LabSpec } from "../topology/lab-spec.ts";
import { readLabFile } from "../topology/read-lab-file.ts";
import { type Progress, seconds, silent } from "../util/progress.ts";
import { labNodes } from "./find-lab.ts";
import { networkName } from "./lab-node.ts";
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
  readonly runtime?: DockerRuntime;
}

/**
 * Starts a lab from a lab file and returns once every node's service answers (DNS answers a
 * query, sshd shows its banner, vsftpd greets, the web server answers). Networks and nodes
 * are created in parallel. If anything fails or the signal aborts, everything the call created
 * is removed before it throws.
 */
export async function startLab(file: string, opts: StartLabOptions = {}): Promise<StartedLab> {
  const spec = readLabFile(file, { name: opts.name });
  return startLabSpec(spec, opts);
}

export async function startLabSpec(spec: LabSpec, opts: StartLabOptions = {}): Promise<StartedLab> {
  const progress = opts.progress ?? silent;
  const runtime = opts.runtime ?? (await DockerRuntime.connect());
  const started = performance.now();

  const existing = await labNodes(runtime, spec.name);
  if (existing.length > 0) {
    const complete = existing.length === spec.nodes.length && existing.every((n) => n.state === "running");
    if (complete) {
      progress(`Lab ${spec.name} is already up (${existing.length} nodes)`);
      return new StartedLab(spec.name, runtime, existing);
    }
    progress(`Removing what an earlier run of lab ${spec.name} left behind (${existing.length} containers)`);
  }
  // Networks without containers can be left too (a kill during network creation).
  await removeLab(runtime, spec.name);
  await checkImages(runtime, spec);
  await checkSubnets(runtime, spec);

  const readyTimeoutMs = opts.readyTimeoutMs ?? 30_000;
  progress(`Starting lab ${spec.name}: ${spec.networks.length} networks, ${spec.nodes.length} nodes ...`);
  try {
    const networkIds = await Promise.all(
      spec.networks.map((n) =>
        runtime.createNetwork({
          name: networkName(spec.name, n.name),
          subnet: n.subnet,
          gateway: n.bridgeGateway,
          labels: { [LABEL.lab]: spec.name, [LABEL.network]: n.name, [LABEL.file]: spec.file },
        }),
      ),
    );
    await allowLabBridges(spec.name, networkIds.map(bridgeName));
    const ids = await Promise.all(
      spec.nodes.map((n) =>
        runtime.createContainer(nodeContainer(spec, n, Math.ceil(readyTimeoutMs / 1000))),
      ),
    );
    await Promise.all(
      spec.nodes.map(async (n, i) => {
        const id = ids[i]!;
        await runtime.startContainer(id);
        const t0 = performance.now();
        const r = await runtime.waitForLine(
          id,
          (l) => (l === "fwlab-ready" ? "ready" : l.startsWith("fwlab-failed:") ? l : undefined),
          readyTimeoutMs + 2000,
          opts.signal,
        );
        if (r.value === "ready") return progress(`  ${n.name} ready (${n.role}) in ${seconds(t0)}`);
        if (r.reason === "aborted") throw new FwlabError(`lab ${spec.name}: start aborted`, 130);
        const why =
          r.value ??
          (r.reason === "timeout" ? `not ready after ${readyTimeoutMs / 1000}s` : "its container exited");
        throw new FwlabError(
          `[${n.name}] ${why.replace(/^fwlab-failed: /, "")}\n  last output:\n${r.lines
            .slice(-8)
            .map((l) => `    ${l}`)
            .join("\n")}`,
        );
      }),
    );
    const lab = new StartedLab(spec.name, runtime, await labNodes(runtime, spec.name));
    for (const n of spec.nodes) {
      if (!n.ruleset) continue;
      const loaded = await lab.loadRuleset(n.name, n.ruleset, { backend: n.backend });
      progress(`  ${n.name}: loaded ${loaded.rules} rules from ${n.ruleset}`);
    }
    progress(`Lab ${spec.name} is up in ${seconds(started)}`);
    return lab;
  } catch (err) {
    progress(`Lab ${spec.name} did not come up; removing what was created`);
    await removeLab(runtime, spec.name).catch(() => {});
    throw err;
  }
}

async function checkImages(runtime: DockerRuntime, spec: LabSpec): Promise<void> {
  const images = [...new Set(spec.nodes.map((n) => n.image))];
  const missing = (
    await Promise.all(images.map(async (i) => ((await runtime.imageId(i)) ? undefined : i)))
  ).filter(Boolean);
  if (missing.length > 0) {
    throw new FwlabError(
      `image${missing.length > 1 ? "s" : ""} ${missing.join(", ")} not found; build them with \`fwlab images\` (or \`npm run setup\`)`,
    );
  }
}

/**
 * Docker refuses overlapping subnets with a terse message; say which lab holds them. Docker
 * does not check the host's own routes: a lab subnet over one would cut the host off.
 */
async function checkSubnets(runtime: DockerRuntime, spec: LabSpec): Promise<void> {
  const [others, routes, resolvers] = await Promise.all([
    runtime.listNetworks("any"),
    hostRoutes(),
    hostResolvers(),
  ]);
  for (const net of spec.networks) {
    const mine = parseCidr(net.subnet)!;
    for (const r of routes) {
      if (cidrsOverlap(mine, parseCidr(r.destination)!)) {
        throw new FwlabError(
          `lab ${spec.name}: network ${net.name} (${net.subnet}) overlaps the host's route to ${r.destination} (${r.device}); ` +
            "the host would lose that route while the lab runs: use a lab file with other subnets",
          2,
        );
      }
    }
    for (const ns of resolvers) {
      if (cidrContains(mine, parseIpv4(ns)!)) {
        throw new FwlabError(
          `lab ${spec.name}: network ${net.name} (${net.subnet}) holds the host's DNS resolver ${ns}; use other subnets`,
          2,
        );
      }
    }
    for (const o of others) {
      for (const s of o.subnets) {
        const theirs = parseCidr(s);
        if (!theirs || !cidrsOverlap(mine, theirs)) continue;
        const owner = o.labels[LABEL.lab] ? `lab "${o.labels[LABEL.lab]}"` : "outside fwlab";
        throw new FwlabError(
          `lab ${spec.name}: network ${net.name} (${net.subnet}) overlaps Docker network "${o.name}" (${s}, ${owner}); ` +
            (o.labels[LABEL.lab] ? `stop it with \`fwlab down --name ${o.labels[LABEL.lab]}\` or ` : "") +
            "use a lab file with other subnets",
          2,
        );
      }
    }
  }
}
