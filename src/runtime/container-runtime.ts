import type { Readable } from "node:stream";
import type { ExecResult } from "./exec-result.ts";

/**
 * The engine seam: everything fwlab asks of a container engine, in fwlab's own terms. The Docker
 * engine API (docker-runtime.ts) is the one real implementation; tests drive `lab/`, the runner
 * and the server through a fake (test/support/fake-runtime.ts). Nothing here touches the machine
 * fwlab runs on: the engine may be on another host (engine.ts builds one per engine).
 */
export interface ContainerRuntime {
  /**
   * Whether the engine's socket accepts a connection within `ms` (rejects with why not): tells
   * a host that is gone from an engine that is only slow to answer.
   */
  reach(ms: number): Promise<void>;
  version(): Promise<EngineVersion>;
  info(): Promise<EngineInfo>;
  createContainer(spec: ContainerCreate): Promise<string>;
  /** Starts a container and returns the PID of its first process, as the engine's host sees it. */
  startContainer(id: string): Promise<number>;
  /** PID of the container's first process on the engine's host (for the host helper, never signalled). */
  containerPid(id: string): Promise<number>;
  removeContainer(id: string): Promise<void>;
  listContainers(labels?: Record<string, string | true>): Promise<ContainerInfo[]>;
  /** Runs a throwaway container to completion; removed whatever happens. */
  runOnce(
    image: string,
    argv: string[],
    opts?: { capAdd?: string[]; labels?: Record<string, string> },
  ): Promise<{ exitCode: number; output: string }>;
  logs(id: string, opts?: { tail?: number; until?: number }): Promise<string>;
  waitForLine<T>(
    id: string,
    match: (line: string) => T | undefined,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<{ value?: T; lines: string[]; reason?: "timeout" | "exited" | "aborted" }>;
  /** Runs argv inside a container. Never throws on a non-zero exit: the caller decides. */
  exec(id: string, argv: string[], opts?: ExecOptions): Promise<ExecResult>;
  execStream(id: string, argv: string[], opts?: { stdin?: boolean }): Promise<ExecStream>;
  execTty(id: string, argv: string[], size: { cols: number; rows: number }): Promise<TtySession>;
  watchDeaths(lab: string, onDie: (node: string, exitCode: number) => void): Promise<{ stop(): void }>;
  readonly images: ImageStore;
  /** Docker networks: only a multi-host lab's overlays (single-host labs use fwlab's own bridges). */
  readonly networks: NetworkStore;
  /** Swarm membership: what `fwlab cluster` forms and undoes. */
  readonly swarm: SwarmControl;
  /**
   * Stops every stream and terminal this process still has open on the engine (their commands
   * end with their input): what a listener forgot to stop does not outlive the process's work.
   */
  close(): Promise<void>;
}

export interface EngineVersion {
  readonly version: string;
  readonly apiVersion: string;
  readonly kernel: string;
  readonly os: string;
  readonly arch: string;
}

export interface EngineInfo {
  readonly name: string;
  readonly driver: string;
  readonly rootDir: string;
  readonly warnings: string[];
  /** "name=seccomp,profile=default", "name=apparmor", "name=userns", "name=rootless", ... */
  readonly securityOptions: string[];
  /** "Docker Desktop", "Debian GNU/Linux 12 (bookworm)", ... */
  readonly operatingSystem: string;
  readonly swarm: SwarmState;
}

export interface SwarmState {
  readonly nodeId: string;
  /** "inactive", "pending", "active", "error", "locked" */
  readonly state: string;
  readonly managers: number;
  /** The swarm's id (the same on every member); "" outside a swarm or on a worker that cannot see it. */
  readonly clusterId: string;
  /** Whether this engine is a manager (it can create overlays and list the swarm's nodes). */
  readonly manager: boolean;
  /** The address it advertises to the other members. */
  readonly nodeAddr: string;
  /** Managers' addresses (ip:2377) as this engine knows them. */
  readonly remoteManagers: readonly string[];
}

export interface ContainerCreate {
  readonly name: string;
  readonly image: string;
  readonly hostname?: string;
  readonly command: string[];
  /** Replaces the image's entrypoint (the host helper runs no init). */
  readonly entrypoint?: string[];
  readonly env: Record<string, string>;
  readonly labels: Record<string, string>;
  readonly capAdd: string[];
  readonly sysctls: Record<string, string>;
  /** Only for a lab run with --allow-unsafe (topology/unsafe-options.ts). */
  readonly privileged?: boolean;
  readonly hostNamespaces?: Partial<Record<"pid" | "ipc" | "uts" | "userns_mode", "host">>;
  readonly binds?: readonly string[];
  /**
   * "disabled" (lab nodes: a namespace of their own with only loopback; fwlab wires the links)
   * or "host" (the host helper). Default "disabled".
   */
  readonly network?: "disabled" | "host";
  /**
   * Docker networks to attach the node to, each with its fixed address (a multi-host lab's
   * overlays): the first is the container's own network, the others are connected before it
   * starts. Docker names their interfaces eth0, eth1..; the node's init renames them by MAC.
   */
  readonly dockerNetworks?: readonly { readonly name: string; readonly address: string }[];
  /** Host devices, read only (the host helper's /dev/kmsg). */
  readonly devices?: readonly string[];
  /** No masked or read-only /proc paths: the host helper writes /proc/sys of its host. */
  readonly unmaskedProc?: boolean;
  readonly securityOpt?: readonly string[];
  /** Host paths bound in, refused by the engine when the source does not exist (never made). */
  readonly mounts?: readonly { readonly source: string; readonly target: string }[];
}

export interface ContainerInfo {
  readonly id: string;
  readonly name: string;
  readonly image: string;
  /** The image's id (sha256:...), to tell a container made from an older build. */
  readonly imageId: string;
  readonly state: string;
  readonly labels: Record<string, string>;
  /** When it was created, seconds since the epoch. */
  readonly created: number;
}

export interface ExecOptions {
  readonly stdin?: string;
  readonly env?: Record<string, string>;
  readonly user?: string;
  readonly signal?: AbortSignal;
}

/** A long-running command inside a container, its output streamed. */
export interface ExecStream {
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** Resolves when the command's output ends (it exited, or its container stopped). */
  readonly ended: Promise<void>;
  stop(): Promise<void>;
  /** Writes to the command's stdin (streams started with `stdin: true`). */
  write?(text: string): void;
  exitCode(): Promise<number>;
  /**
   * Whether this stream alone keeps the process alive (default yes). A session kept open for
   * later requests (the host helper's) lets a command end once its work is done.
   */
  keepAlive?(on: boolean): void;
}

/** An interactive shell on a pseudo-terminal (the dashboard's terminal into a node). */
export interface TtySession {
  /** Terminal output: raw bytes, escape sequences included (a TTY has no separate stderr). */
  readonly output: Readable;
  readonly ended: Promise<void>;
  write(data: string): void;
  resize(cols: number, rows: number): Promise<void>;
  /** The shell's PID on the engine's host (it leads its process group), when the engine says. */
  processId(): Promise<number | undefined>;
  /** Closes the stream; the shell itself is hung up by the host helper (StartedLab.shell). */
  stop(): Promise<void>;
}

/** What `docker build` is asked for: the tag, the Dockerfile in the context, its arguments and labels. */
export interface ImageBuild {
  ref: string;
  dockerfile: string;
  buildArgs: Record<string, string>;
  labels: Record<string, string>;
}

/** Images on one engine: look-ups for the checks before a lab starts, and the builder's calls. */
export interface ImageStore {
  imageLabels(ref: string): Promise<Record<string, string> | undefined>;
  imageId(ref: string): Promise<string | undefined>;
  /** `docker import` of a root filesystem tar stream, with labels. */
  importImage(tar: Readable, ref: string, labels: Record<string, string>): Promise<void>;
  /** `docker build` of a context tar stream; `onLine` gets the builder's output. */
  buildImage(context: Readable, opts: ImageBuild, onLine: (line: string) => void): Promise<void>;
  /** `docker save` of images, as one tar stream. */
  saveImages(refs: readonly string[]): Promise<Readable>;
  /** `docker load` of a `docker save` stream. */
  loadImages(tar: Readable): Promise<void>;
}

/** An attachable overlay network for standalone containers, with the lab's subnet. */
export interface OverlayCreate {
  readonly name: string;
  readonly subnet: string;
  /** Where Docker takes its own addresses from (its per-node endpoints): away from the lab's. */
  readonly ipRange: string;
  readonly gateway: string;
  readonly labels: Record<string, string>;
}

export interface NetworkInfo {
  readonly id: string;
  readonly name: string;
  readonly driver: string;
  readonly subnet: string;
  readonly labels: Record<string, string>;
}

export interface NetworkStore {
  /** Creates an internal, attachable overlay (on a swarm manager). */
  createOverlay(spec: OverlayCreate): Promise<void>;
  list(labels?: Record<string, string | true>): Promise<NetworkInfo[]>;
  /** Removes a network; one already gone is fine. */
  remove(idOrName: string): Promise<void>;
}

export interface SwarmNode {
  readonly id: string;
  readonly addr: string;
  readonly role: "manager" | "worker";
  /** "ready", "down", "unknown", "disconnected" */
  readonly state: string;
  readonly leader: boolean;
}

export interface SwarmControl {
  /** Makes this engine the first manager of a new swarm, advertising `addr`; `labels` mark the swarm. */
  init(addr: string, labels?: Record<string, string>): Promise<void>;
  /** Joins the swarm whose manager is at `manager` (ip:2377), advertising `addr`. */
  join(token: string, manager: string, addr: string): Promise<void>;
  /** Leaves the swarm (`force` for the last manager). */
  leave(force: boolean): Promise<void>;
  /** The worker join token and the swarm's labels (managers only). */
  inspect(): Promise<{ workerToken: string; labels: Record<string, string> }>;
  /** The swarm's nodes (managers only). */
  nodes(): Promise<SwarmNode[]>;
  /** Removes a node that left from the swarm's list (managers only). */
  removeNode(id: string): Promise<void>;
}
