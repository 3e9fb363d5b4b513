import { PassThrough, type Readable } from "node:stream";
import type Docker from "dockerode";
import { FwlabError } from "../errors.ts";
import type {
  ContainerCreate,
  ContainerInfo,
  ContainerRuntime,
  EngineInfo,
  EngineVersion,
  ExecOptions,
  ExecStream,
  TtySession,
} from "./container-runtime.ts";
import { type DockerApi, lazyDocker } from "./docker-api.ts";
import { execStream } from "./docker-exec-stream.ts";
import { DockerImages } from "./docker-images.ts";
import { DockerNetworks } from "./docker-networks.ts";
import { DockerSwarm } from "./docker-swarm.ts";
import { execTty } from "./docker-tty.ts";
import { engineCall } from "./engine-call.ts";
import { ignoreNotFound } from "./engine-errors.ts";
import { EngineHttp } from "./engine-http.ts";
import type { ExecResult } from "./exec-result.ts";
import { LABEL } from "./labels.ts";
import { reachEndpoint, type SocketOptions } from "./reach-endpoint.ts";

/**
 * The engine seam over the Docker engine API: the only code in fwlab that talks to an engine.
 * engine.ts builds one per engine, local or remote. What only reads (ping, version, info, the
 * container list, a container's pid and past output, an image's id) goes as plain GETs
 * (engine-http.ts); the rest through dockerode, loaded on first use (docker-api.ts). An ssh://
 * engine goes through dockerode for everything.
 */
export class DockerRuntime implements ContainerRuntime {
  readonly images: DockerImages;
  readonly networks: DockerNetworks;
  readonly swarm: DockerSwarm;
  /** Streams and terminals open now, for close(). */
  private readonly live = new Set<{ stop(): Promise<void> }>();

  private readonly api: DockerApi;
  private readonly http: EngineHttp | undefined;

  constructor(
    /** dockerode's options for the engine (engine-endpoint.ts dockerOptions). */
    private readonly options: Record<string, unknown>,
    /** The engine's name in messages (a context's name, or its address). */
    private readonly engine: string,
  ) {
    this.api = lazyDocker(options);
    this.http = EngineHttp.for(options);
    this.images = new DockerImages(this.api, this.http);
    this.networks = new DockerNetworks(this.api, engine);
    this.swarm = new DockerSwarm(this.api, engine);
  }

  reach(ms: number): Promise<void> {
    return reachEndpoint(this.options as SocketOptions, ms);
  }

  /** Whether the engine answers its API (`docker info` would say more, and cost more). */
  async ping(): Promise<void> {
    await (this.http ? this.http.get("/_ping") : (await this.api()).ping());
  }

  async version(): Promise<EngineVersion> {
    const v = await engineCall(this.engine, "docker version", async () =>
      this.http
        ? this.http.json<{
            Version: string;
            ApiVersion: string;
            KernelVersion: string;
            Os: string;
            Arch: string;
          }>("/version")
        : (await this.api()).version(),
    );
    return { version: v.Version, apiVersion: v.ApiVersion, kernel: v.KernelVersion, os: v.Os, arch: v.Arch };
  }

  async info(): Promise<EngineInfo> {
    // biome-ignore lint/suspicious/noExplicitAny: the engine's own JSON, read field by field below
    const i: any = await engineCall(this.engine, "docker info", async () =>
      this.http ? this.http.json("/info") : (await this.api()).info(),
    );
    return {
      name: i.Name,
      driver: i.Driver,
      rootDir: i.DockerRootDir,
      warnings: i.Warnings ?? [],
      securityOptions: i.SecurityOptions ?? [],
      operatingSystem: i.OperatingSystem ?? "",
      swarm: {
        nodeId: i.Swarm?.NodeID ?? "",
        state: i.Swarm?.LocalNodeState ?? "inactive",
        managers: i.Swarm?.Managers ?? 0,
        clusterId: i.Swarm?.Cluster?.ID ?? "",
        manager: i.Swarm?.ControlAvailable === true,
        nodeAddr: i.Swarm?.NodeAddr ?? "",
        remoteManagers: (i.Swarm?.RemoteManagers ?? []).map((m: { Addr: string }) => m.Addr),
      },
    };
  }

  // --- containers -----------------------------------------------------------------------

  /**
   * Creates a container. A lab node's has networking disabled: a network namespace of its own
   * with only loopback, and no libnetwork sandbox (Docker's `none` network costs one per
   * container: half the time of starting a lab). fwlab wires the lab's links itself (see
   * host-links.ts), and the node's init writes its /etc/hosts and resolv.conf (Docker manages
   * neither then). The host helper's uses the host's network instead.
   */
  async createContainer(spec: ContainerCreate): Promise<string> {
    const first = spec.dockerNetworks?.[0];
    const c = await (await this.api()).createContainer({
      name: spec.name,
      Image: spec.image,
      Hostname: spec.hostname,
      Entrypoint: spec.entrypoint,
      Cmd: spec.command,
      Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
      Labels: spec.labels,
      HostConfig: {
        CapAdd: spec.capAdd,
        Sysctls: spec.sysctls,
        Init: false,
        Privileged: spec.privileged || undefined,
        PidMode: spec.hostNamespaces?.pid,
        IpcMode: spec.hostNamespaces?.ipc,
        UTSMode: spec.hostNamespaces?.uts,
        UsernsMode: spec.hostNamespaces?.userns_mode,
        Binds: spec.binds?.length ? [...spec.binds] : undefined,
        Mounts: spec.mounts?.length
          ? spec.mounts.map((m) => ({ Type: "bind" as const, Source: m.source, Target: m.target }))
          : undefined,
        NetworkMode: spec.network === "host" ? "host" : first?.name,
        Devices: spec.devices?.map((d) => ({ PathOnHost: d, PathInContainer: d, CgroupPermissions: "r" })),
        MaskedPaths: spec.unmaskedProc ? [] : undefined,
        ReadonlyPaths: spec.unmaskedProc ? [] : undefined,
        SecurityOpt: spec.securityOpt?.length ? [...spec.securityOpt] : undefined,
      },
      NetworkDisabled: spec.network === "host" || first ? undefined : true,
      NetworkingConfig: first
        ? { EndpointsConfig: { [first.name]: { IPAMConfig: { IPv4Address: first.address } } } }
        : undefined,
    });
    // The engine API (1.41) takes one network at create; the others are connected before start.
    for (const n of spec.dockerNetworks?.slice(1) ?? [])
      await engineCall(this.engine, "docker network connect", async () =>
        (await this.api())
          .getNetwork(n.name)
          .connect({ Container: c.id, EndpointConfig: { IPAMConfig: { IPv4Address: n.address } } }),
      );
    return c.id;
  }

  /** Starts a container and returns the PID of its first process (its network namespace). */
  async startContainer(id: string): Promise<number> {
    const c = (await this.api()).getContainer(id);
    await c.start();
    return (await c.inspect()).State.Pid;
  }

  /** PID of the container's first process on the engine's host: its namespaces, for the host helper. */
  async containerPid(id: string): Promise<number> {
    const c = await engineCall(this.engine, "docker inspect", async () =>
      this.http
        ? this.http.json<{ State: { Pid: number } }>(`/containers/${encodeURIComponent(id)}/json`)
        : (await this.api()).getContainer(id).inspect(),
    );
    return c.State.Pid;
  }

  async removeContainer(id: string): Promise<void> {
    await ignoreNotFound((await this.api()).getContainer(id).remove({ force: true, v: true }));
  }

  async listContainers(labels: Record<string, string | true> = {}): Promise<ContainerInfo[]> {
    const filters = { label: labelFilters(labels) };
    const list = await engineCall(this.engine, "docker ps", async () =>
      this.http
        ? this.http.json<Awaited<ReturnType<Docker["listContainers"]>>>("/containers/json", {
            all: true,
            filters: JSON.stringify(filters),
          })
        : (await this.api()).listContainers({ all: true, filters }),
    );
    return list.map((c) => ({
      id: c.Id,
      name: (c.Names[0] ?? c.Id).replace(/^\//, ""),
      image: c.Image,
      imageId: c.ImageID,
      state: c.State,
      labels: c.Labels ?? {},
      created: c.Created,
    }));
  }

  /**
   * Runs a throwaway container to completion and returns its exit code and output; the
   * container is removed whatever happens. Labelled so a crash leaves nothing `down --all` misses.
   */
  async runOnce(
    image: string,
    argv: string[],
    opts: { capAdd?: string[]; labels?: Record<string, string> } = {},
  ) {
    const c = await (await this.api()).createContainer({
      Image: image,
      Entrypoint: [argv[0]!],
      Cmd: argv.slice(1),
      Labels: { [LABEL.lab]: "_doctor", ...opts.labels },
      HostConfig: { CapAdd: opts.capAdd ?? [], NetworkMode: "none" },
    });
    try {
      await c.start();
      const { StatusCode } = (await c.wait()) as { StatusCode: number };
      return { exitCode: StatusCode, output: await this.logs(c.id, { tail: 1000 }) };
    } finally {
      await ignoreNotFound(c.remove({ force: true }));
    }
  }

  /**
   * The container's output (stdout and stderr interleaved): its last `tail` lines, or with
   * `until` (seconds since the epoch) what it wrote before then.
   */
  async logs(id: string, opts: { tail?: number; until?: number } = {}): Promise<string> {
    const which = {
      stdout: true,
      stderr: true,
      ...(opts.until !== undefined ? { until: Math.ceil(opts.until) } : { tail: opts.tail ?? 200 }),
    };
    const buf = (await engineCall(this.engine, "docker logs", async () =>
      this.http
        ? this.http.get(`/containers/${encodeURIComponent(id)}/logs`, which)
        : (await this.api()).getContainer(id).logs(which),
    )) as unknown as Buffer;
    return demuxBuffer(buf);
  }

  /**
   * Follows a container's output until `match` returns a value for a line, the container
   * stops, the timeout passes or `signal` aborts. Lines already written are included.
   */
  async waitForLine<T>(
    id: string,
    match: (line: string) => T | undefined,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<{ value?: T; lines: string[]; reason?: "timeout" | "exited" | "aborted" }> {
    const docker = await this.api();
    const raw = (await docker
      .getContainer(id)
      .logs({ follow: true, stdout: true, stderr: true })) as unknown as Readable;
    const out = new PassThrough();
    docker.modem.demuxStream(raw, out, out);
    const lines: string[] = [];
    return new Promise((resolve) => {
      let pending = "";
      const finish = (r: { value?: T; reason?: "timeout" | "exited" | "aborted" }) => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        raw.destroy();
        resolve({ ...r, lines });
      };
      const onAbort = () => finish({ reason: "aborted" });
      const timer = setTimeout(() => finish({ reason: "timeout" }), timeoutMs);
      signal?.addEventListener("abort", onAbort, { once: true });
      out.on("data", (chunk: Buffer) => {
        pending += chunk.toString("utf8");
        let nl = pending.indexOf("\n");
        while (nl >= 0) {
          const line = pending.slice(0, nl).replace(/\r$/, "");
          pending = pending.slice(nl + 1);
          lines.push(line);
          const value = match(line);
          if (value !== undefined) return finish({ value });
          nl = pending.indexOf("\n");
        }
      });
      raw.on("end", () => finish({ reason: "exited" }));
      raw.on("error", () => finish({ reason: "exited" }));
    });
  }

  /** Runs argv inside a container. Never throws on a non-zero exit: the caller decides. */
  exec(id: string, argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    return engineCall(this.engine, `docker exec ${argv[0]}`, () => this.execRaw(id, argv, opts));
  }

  private async execRaw(id: string, argv: string[], opts: ExecOptions): Promise<ExecResult> {
    const started = performance.now();
    const docker = await this.api();
    const exec = await docker.getContainer(id).exec({
      Cmd: argv,
      AttachStdout: true,
      AttachStderr: true,
      AttachStdin: opts.stdin !== undefined,
      Env: opts.env ? Object.entries(opts.env).map(([k, v]) => `${k}=${v}`) : undefined,
      User: opts.user,
    });
    const stream = await exec.start({ hijack: true, stdin: opts.stdin !== undefined });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    const outSink = new PassThrough().on("data", (b: Buffer) => stdout.push(b));
    const errSink = new PassThrough().on("data", (b: Buffer) => stderr.push(b));
    docker.modem.demuxStream(stream, outSink, errSink);
    if (opts.stdin !== undefined) stream.end(opts.stdin);
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        stream.destroy();
        reject(new FwlabError(`exec ${argv.join(" ")} aborted`));
      };
      opts.signal?.addEventListener("abort", onAbort, { once: true });
      stream.on("end", resolve);
      stream.on("close", resolve);
      stream.on("error", reject);
    });
    const info = await exec.inspect();
    return {
      exitCode: info.ExitCode ?? -1,
      stdout: Buffer.concat(stdout).toString("utf8"),
      stderr: Buffer.concat(stderr).toString("utf8"),
      durationMs: performance.now() - started,
    };
  }

  /** A long-running command in a container, its output streamed (runtime/docker-exec-stream.ts). */
  async execStream(id: string, argv: string[], opts: { stdin?: boolean } = {}): Promise<ExecStream> {
    const stream = await engineCall(this.engine, `docker exec ${argv[0]}`, async () =>
      execStream(await this.api(), id, argv, opts),
    );
    this.live.add(stream);
    void stream.ended.then(() => this.live.delete(stream));
    return stream;
  }

  /** A shell for a person typing, on a pseudo-terminal (runtime/docker-tty.ts). */
  async execTty(id: string, argv: string[], size: { cols: number; rows: number }): Promise<TtySession> {
    const tty = await execTty(await this.api(), id, argv, size);
    this.live.add(tty);
    void tty.ended.then(() => this.live.delete(tty));
    return tty;
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.live].map((s) => s.stop()));
    this.live.clear();
  }

  /**
   * Calls `onDie` with the node name and exit code of each container of a lab that stops from
   * now on (killed, crashed, or stopped by someone else), until `stop()`.
   */
  async watchDeaths(lab: string, onDie: (node: string, exitCode: number) => void): Promise<{ stop(): void }> {
    const stream = (await (
      await this.api()
    ).getEvents({
      filters: { type: ["container"], event: ["die"], label: [`${LABEL.lab}=${lab}`] },
    })) as NodeJS.ReadableStream & { destroy(): void };
    let pending = "";
    stream.on("data", (b: Buffer) => {
      pending += b.toString("utf8");
      let nl = pending.indexOf("\n");
      while (nl >= 0) {
        try {
          const e = JSON.parse(pending.slice(0, nl)) as { Actor?: { Attributes?: Record<string, string> } };
          const attrs = e.Actor?.Attributes ?? {};
          if (attrs[LABEL.node]) onDie(attrs[LABEL.node]!, Number(attrs.exitCode ?? -1));
        } catch {}
        pending = pending.slice(nl + 1);
        nl = pending.indexOf("\n");
      }
    });
    stream.on("error", () => {});
    return { stop: () => stream.destroy() };
  }
}

function labelFilters(labels: Record<string, string | true>): string[] {
  const entries = Object.entries(labels);
  if (entries.length === 0) return [LABEL.lab];
  return entries.map(([k, v]) => (v === true ? k : `${k}=${v}`));
}

/** Docker's multiplexed log format: 8-byte frame headers before each chunk. */
function demuxBuffer(buf: Buffer): string {
  if (!Buffer.isBuffer(buf)) return String(buf);
  const parts: Buffer[] = [];
  let i = 0;
  while (i + 8 <= buf.length) {
    const len = buf.readUInt32BE(i + 4);
    parts.push(buf.subarray(i + 8, i + 8 + len));
    i += 8 + len;
  }
  return Buffer.concat(parts).toString("utf8");
}
