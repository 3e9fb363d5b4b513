import type { DockerRuntime } from "../runtime/docker-runtime.ts";
import { removeLabBridgeRules } from "../runtime/host-firewall.ts";
import { LABEL } from "../runtime/labels.ts";

export interface Removed {
  readonly containers: number;
  readonly networks: number;
}

/**
 * Removes everything carrying the lab's label (or every fwlab lab): containers first, killed
 * and removed in parallel, then networks, then its rules in the host firewall. Idempotent, and it needs nothing but the labels,
 * so it also cleans what a crashed `up` left behind.
 */
export async function removeLab(runtime: DockerRuntime, lab: string | { all: true }): Promise<Removed> {
  const filter = typeof lab === "string" ? { [LABEL.lab]: lab } : { [LABEL.lab]: true as const };
  const containers = await runtime.listContainers(filter);
  await Promise.all(containers.map((c) => runtime.removeContainer(c.id)));
  const networks = await runtime.listNetworks(filter);
  await Promise.all(networks.map((n) => runtime.removeNetwork(n.id)));
  await removeLabBridgeRules(lab);
  return { containers: containers.length, networks: networks.length };
}
