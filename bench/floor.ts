import Docker from "dockerode";
import { nodeContainer } from "../src/lab/node-container.ts";
import type { LabSpec } from "../src/topology/lab-spec.ts";

/**
 * The engine's own floor for a lab: the same containers (image, command, environment,
 * capabilities, sysctls) created and started in parallel through the API, on no network and
 * with no readiness, then removed in parallel. What no tool starting these containers on this
 * engine can beat; `up` and `down` are measured against it in the same run. Two floors: on
 * Docker's `none` network (a libnetwork sandbox per container), and with networking disabled
 * (an own namespace with loopback only: how fwlab creates nodes since it halved the floor).
 */
export async function engineFloor(
  spec: LabSpec,
  opts: { networkDisabled: boolean },
  docker = new Docker(),
): Promise<{ upMs: number; downMs: number }> {
  const prefix = `floor${process.pid}`;
  const t0 = performance.now();
  const ids = await Promise.all(
    spec.nodes.map(async (n) => {
      const c = nodeContainer(spec, n, 30);
      const created = await docker.createContainer({
        name: `${prefix}-${n.name}`,
        Image: c.image,
        Hostname: c.hostname,
        Cmd: c.command,
        // No links will come: the init must not wait for them.
        Env: Object.entries({ ...c.env, FWLAB_IFACES: "" }).map(([k, v]) => `${k}=${v}`),
        Labels: { "fwlab.bench": "floor" },
        HostConfig: {
          CapAdd: c.capAdd,
          Sysctls: c.sysctls,
          ...(opts.networkDisabled ? {} : { NetworkMode: "none" }),
        },
        NetworkDisabled: opts.networkDisabled,
      });
      await created.start();
      return created.id;
    }),
  );
  const upMs = performance.now() - t0;
  const t1 = performance.now();
  await Promise.all(ids.map((id) => docker.getContainer(id).remove({ force: true })));
  return { upMs, downMs: performance.now() - t1 };
}

/** Removes what an interrupted floor measurement left. */
export async function removeFloorLeftovers(docker = new Docker()): Promise<void> {
  const left = await docker.listContainers({ all: true, filters: { label: ["fwlab.bench=floor"] } });
  await Promise.all(left.map((c) => docker.getContainer(c.Id).remove({ force: true })));
}
