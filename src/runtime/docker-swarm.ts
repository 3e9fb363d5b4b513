import type { SwarmControl, SwarmNode } from "./container-runtime.ts";
import type { DockerApi } from "./docker-api.ts";
import { engineCall } from "./engine-call.ts";
import { ignoreNotFound } from "./engine-errors.ts";

/** Swarm membership through the engine API (part of the Docker seam). */
export class DockerSwarm implements SwarmControl {
  constructor(
    private readonly api: DockerApi,
    private readonly engine: string,
  ) {}

  async init(addr: string, labels: Record<string, string> = {}): Promise<void> {
    await engineCall(this.engine, "docker swarm init", async () =>
      (await this.api()).swarmInit({
        ListenAddr: "0.0.0.0:2377",
        AdvertiseAddr: addr,
        ForceNewCluster: false,
        Spec: { Labels: labels },
      }),
    );
  }

  async join(token: string, manager: string, addr: string): Promise<void> {
    await engineCall(this.engine, "docker swarm join", async () =>
      (await this.api()).swarmJoin({
        ListenAddr: "0.0.0.0:2377",
        AdvertiseAddr: addr,
        RemoteAddrs: [manager],
        JoinToken: token,
      }),
    );
  }

  async leave(force: boolean): Promise<void> {
    await engineCall(this.engine, "docker swarm leave", async () => (await this.api()).swarmLeave({ force }));
  }

  async inspect(): Promise<{ workerToken: string; labels: Record<string, string> }> {
    const s = await engineCall(this.engine, "docker swarm inspect", async () =>
      (await this.api()).swarmInspect(),
    );
    return { workerToken: s.JoinTokens.Worker, labels: s.Spec?.Labels ?? {} };
  }

  async nodes(): Promise<SwarmNode[]> {
    const list = await engineCall(this.engine, "docker node ls", async () => (await this.api()).listNodes());
    return list.map((n) => ({
      id: n.ID ?? "",
      addr: n.Status?.Addr ?? "",
      role: n.Spec?.Role === "manager" ? "manager" : "worker",
      state: n.Status?.State ?? "unknown",
      leader: n.ManagerStatus?.Leader === true,
    }));
  }

  async removeNode(id: string): Promise<void> {
    await engineCall(this.engine, "docker node rm", async () =>
      ignoreNotFound((await this.api()).getNode(id).remove({ force: true })),
    );
  }
}
