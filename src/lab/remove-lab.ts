import type { Engine } from "../runtime/engine.ts";
import { removeHelpers } from "../runtime/helper-container.ts";
import { removeHostIsolation, removeLabBridgeRules } from "../runtime/host-firewall.ts";
import { listBridges, removeBridges } from "../runtime/host-links.ts";
import { LABEL } from "../runtime/labels.ts";

export interface Removed {
  readonly containers: number;
  readonly networks: number;
}

/**
 * Removes everything of a lab (or of every fwlab lab): its containers, killed and removed in
 * parallel, then its bridges, then its rules in the host firewall. Idempotent, and it needs
 * nothing but Docker labels and bridge aliases, so it also cleans what a crashed `up` left.
 * `down --all` also removes the engine's host helper once no lab is left.
 */
export async function removeLab(engine: Engine, lab: string | { all: true }): Promise<Removed> {
  const { runtime, host } = engine;
  const filter = typeof lab === "string" ? { [LABEL.lab]: lab } : { [LABEL.lab]: true as const };
  const containers = await runtime.listContainers(filter);
  await Promise.all(containers.map((c) => runtime.removeContainer(c.id)));
  // Killing a node destroys its namespace and with it its veths; the bridges are fwlab's.
  const bridges = await listBridges(host, typeof lab === "string" ? lab : undefined);
  await removeBridges(host, bridges);
  await removeLabBridgeRules(host, lab);
  // The host's isolation tables stay while any lab bridge is left.
  const left = typeof lab === "string" ? await listBridges(host) : [];
  if (left.length === 0) await removeHostIsolation(host);
  if (typeof lab !== "string" && (await runtime.listContainers()).length === 0) await removeHelpers(runtime);
  return { containers: containers.length, networks: bridges.length };
}
