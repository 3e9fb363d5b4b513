import type { NetworkInfo, NetworkStore, OverlayCreate } from "./container-runtime.ts";
import type { DockerApi } from "./docker-api.ts";
import { engineCall } from "./engine-call.ts";
import { ignoreNotFound } from "./engine-errors.ts";

/** Docker networks: a multi-host lab's overlays (part of the Docker seam). */
export class DockerNetworks implements NetworkStore {
  constructor(
    private readonly api: DockerApi,
    private readonly engine: string,
  ) {}

  async createOverlay(spec: OverlayCreate): Promise<void> {
    await engineCall(this.engine, "docker network create", async () =>
      (await this.api()).createNetwork({
        Name: spec.name,
        Driver: "overlay",
        Attachable: true,
        // No gateway out of the lab, no docker_gwbridge: a lab network reaches nothing else.
        Internal: true,
        CheckDuplicate: true,
        Labels: spec.labels,
        IPAM: {
          Driver: "default",
          Config: [{ Subnet: spec.subnet, IPRange: spec.ipRange, Gateway: spec.gateway }],
        },
      }),
    );
  }

  async list(labels: Record<string, string | true> = {}): Promise<NetworkInfo[]> {
    const label = Object.entries(labels).map(([k, v]) => (v === true ? k : `${k}=${v}`));
    const list = await engineCall(this.engine, "docker network ls", async () =>
      (await this.api()).listNetworks({ filters: { label } }),
    );
    return list.map((n) => ({
      id: n.Id,
      name: n.Name,
      driver: n.Driver,
      subnet: n.IPAM?.Config?.[0]?.Subnet ?? "",
      labels: n.Labels ?? {},
    }));
  }

  async remove(idOrName: string): Promise<void> {
    await engineCall(this.engine, "docker network rm", async () =>
      ignoreNotFound((await this.api()).getNetwork(idOrName).remove()),
    );
  }
}
