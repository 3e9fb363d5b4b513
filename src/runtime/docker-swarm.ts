import type Docker from "dockerode";
import type { SwarmControl, SwarmNode } from "./container-runtime.ts";
import { engineCall } from "./engine-call.ts";
import { ignoreNotFound } from "./engine-errors.ts";

/** Swarm membership through the engine API (part of the Docker seam). */
export class DockerSwarm implements SwarmControl {
  constructor(
    private readonly docker: Docker,
    private readonly engine: string,
  ) {}

  async init(addr: string, labels: Record<string, string> = {}): Promise<void> {
    await engineCall(this.engine, "docker swarm init", () =>
      this.docker.swarmInit({
        ListenAddr: "0.0.0.0:2377",
        AdvertiseAddr: addr,
        ForceNewCluster: false,
        Spec: { Labels: labels },
      }),
    );
  }

  async join(token: string, manager: string, addr: string): Promise<void> {
    await engineCall(this.engine, "docker swarm join", () =>
      this.docker.swarmJoin({
        ListenAddr: "0.0.0.0:2377",
        AdvertiseAddr: addr,
        RemoteAddrs: [manager],
        JoinToken: token,
      }),
    );
  }

  async leave(force: boolean): Promise<void> {
    await engineCall(this.engine, "docker swarm leave", () => this.docker.swarmLeave({ force }));
  }

  async inspect(): Promise<{ workerToken: string; labels: Record<string, string> }> {
    const s = await engineCall(this.engine, "docker swarm inspect", () => this.docker.swarmInspect());
    return { workerToken: s.JoinTokens.Worker, labels: s.Spec?.Labels ?? {} };
  }

  async nodes(): Promise<SwarmNode[]> {
    const list = await engineCall(this.engine, "docker node ls", () => this.docker.listNodes());
    return list.map((n) => ({
      id: n.ID ?? "",
      addr: n.Status?.Addr ?? "",
      role: n.Spec?.Role === "manager" ? "manager" : "worker",
      state: n.Status?.State ?? "unknown",
      leader: n.ManagerStatus?.Leader === true,
    }));
  }

  async removeNode(id: string): Promise<void> {
    await engineCall(this.engine, "docker node rm", () =>
      ignoreNotFound(this.docker.getNode(id).remove({ force: true })),
    );
  }
}
