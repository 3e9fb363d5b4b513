import type { ContainerRuntime } from "../runtime/container-runtime.ts";
import { labNodes } from "./find-lab.ts";
import type { LabNode } from "./lab-node.ts";

export interface NodeStatus extends LabNode {
  /** Running, and its init reported that the node's services answer. */
  readonly ready: boolean;
}

export interface LabStatus {
  readonly lab: string;
  readonly ready: boolean;
  readonly nodes: NodeStatus[];
}

export async function labStatus(runtime: ContainerRuntime, lab: string): Promise<LabStatus> {
  return statusOf(runtime, lab, await labNodes(runtime, lab));
}

/**
 * Whether each running node's init said "fwlab-ready": read from its output up to the time it
 * had to say so (a busy DNS server's query log after that never pushes the line out of reach),
 * every node at once.
 */
export async function statusOf(
  runtime: ContainerRuntime,
  lab: string,
  nodes: readonly LabNode[],
): Promise<LabStatus> {
  const status = await Promise.all(
    nodes.map(async (n) => {
      const ready =
        n.state === "running" &&
        (await runtime.logs(n.container, { until: n.readyBy })).split("\n").includes("fwlab-ready");
      return { ...n, ready };
    }),
  );
  return { lab, ready: status.length > 0 && status.every((n) => n.ready), nodes: status };
}
