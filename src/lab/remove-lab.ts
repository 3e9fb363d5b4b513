import type { DockerRuntime } from "../runtime/docker-runtime.ts";
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
 */
export async function removeLab(runtime: DockerRuntime, lab: string | { all: true }): Promise<Removed> {
  const filter = typeof lab === "string" ? { [LABEL.lab]: lab } : { [LABEL.lab]: true as const };
  const containers = await runtime.listContainers(filter);
  await Promise.all(containers.map((c) => runtime.removeContainer(c.id)));
  // Killing a node destroys its namespace and with it its veths; the bridges are fwlab's.
  const bridges = await listBridges(typeof lab === "string" ? lab : undefined);
  await removeBridges(bridges);
  await removeLabBridgeRules(lab);
  // The host's isolation tables stay while any lab bridge is left.
  if (typeof lab !== "string" || (await listBridges()).length === 0) await removeHostIsolation();
  return { containers: containers.length, networks: bridges.length };
}
