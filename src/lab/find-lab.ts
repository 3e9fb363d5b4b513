import { FwlabError } from "../errors.ts";
import type { ContainerInfo, ContainerRuntime } from "../runtime/container-runtime.ts";
import { LABEL } from "../runtime/labels.ts";
import type { Backend } from "../topology/lab-spec.ts";
import type { Role } from "../topology/roles.ts";
import { byName } from "../util/by-name.ts";
import type { LabNode } from "./lab-node.ts";

/** The names of the labs that have anything in Docker, with their node counts. */
export async function listLabs(runtime: ContainerRuntime): Promise<Map<string, ContainerInfo[]>> {
  const labs = new Map<string, ContainerInfo[]>();
  for (const c of await runtime.listContainers()) {
    const lab = c.labels[LABEL.lab]!;
    labs.set(lab, [...(labs.get(lab) ?? []), c]);
  }
  return labs;
}

/**
 * Which lab a command means: the one named, else FWLAB_NAME, else the only lab there is,
 * else "fwlab" (the default lab's name).
 */
export async function resolveLabName(runtime: ContainerRuntime, name?: string): Promise<string> {
  return (await findLab(runtime, name)).name;
}

/**
 * The lab a command means, with its containers, from one listing: the one named, else
 * FWLAB_NAME, else the only lab there is, else "fwlab" (the default lab's name).
 */
export async function findLab(
  runtime: ContainerRuntime,
  name?: string,
): Promise<{ name: string; containers: ContainerInfo[] }> {
  const labs = await listLabs(runtime);
  const pick = (n: string) => ({ name: n, containers: labs.get(n) ?? [] });
  if (name) return pick(name);
  if (process.env.FWLAB_NAME) return pick(process.env.FWLAB_NAME);
  const names = [...labs.keys()];
  if (names.length === 1) return pick(names[0]!);
  if (names.length > 1 && !names.includes("fwlab")) {
    throw new FwlabError(`several labs are running (${names.join(", ")}); say which with --name`, 2);
  }
  return pick("fwlab");
}

/** A lab's nodes on one engine (`host`: that engine's name, for nodes of a single-host lab). */
export async function labNodes(runtime: ContainerRuntime, lab: string, host = ""): Promise<LabNode[]> {
  return nodesOf(await runtime.listContainers({ [LABEL.lab]: lab }), host);
}

/** A lab's nodes from its containers (listed by label) on the engine called `host`. */
export function nodesOf(containers: readonly ContainerInfo[], host = ""): LabNode[] {
  return containers
    .map((c) => ({
      name: c.labels[LABEL.node] ?? c.name,
      container: c.id,
      containerName: c.name,
      role: c.labels[LABEL.role] as Role,
      firewall: c.labels[LABEL.firewall] === "true",
      backend: (c.labels[LABEL.backend] ?? "iptables-nft") as Backend,
      image: c.image,
      state: c.state,
      host: c.labels[LABEL.host] ?? host,
      addresses: parseAddresses(c.labels[LABEL.addresses] ?? ""),
      addresses6: parseAddresses(c.labels[LABEL.addresses6] ?? ""),
      ...(c.labels[LABEL.ifnames] ? { ifnames: parseAddresses(c.labels[LABEL.ifnames] ?? "") } : {}),
      created: c.created,
      readyBy: c.created + Number(c.labels[LABEL.readyTimeout] ?? 120) + 10,
    }))
    .sort(byName);
}

/** The `fwlab.addresses` label: "lan=10.0.1.1,dmz=10.0.2.1". */
export const formatAddresses = (a: Record<string, string>): string =>
  Object.entries(a)
    .map(([net, ip]) => `${net}=${ip}`)
    .join(",");

const parseAddresses = (label: string): Record<string, string> =>
  Object.fromEntries(
    label
      .split(",")
      .filter(Boolean)
      .map((p) => [p.slice(0, p.indexOf("=")), p.slice(p.indexOf("=") + 1)] as [string, string]),
  );
