import type { DockerRuntime } from "../runtime/docker-runtime.ts";
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

export async function labStatus(runtime: DockerRuntime, lab: string): Promise<LabStatus> {
  const nodes = await Promise.all(
    (await labNodes(runtime, lab)).map(async (n) => {
      const ready =
        n.state === "running" && (await runtime.logs(n.container, 1000)).split("\n").includes("fwlab-ready");
      return { ...n, ready };
    }),
  );
  return { lab, ready: nodes.length > 0 && nodes.every((n) => n.ready), nodes };
}
