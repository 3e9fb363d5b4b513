import { PassThrough, type Readable } from "node:stream";
import type {
  ContainerCreate,
  ContainerInfo,
  ContainerRuntime,
  EngineInfo,
  EngineVersion,
  ExecOptions,
  ExecStream,
  ImageStore,
  NetworkInfo,
  NetworkStore,
  OverlayCreate,
  SwarmControl,
  SwarmNode,
  SwarmState,
  TtySession,
} from "../../src/runtime/container-runtime.ts";
import { type Engine, engineOf } from "../../src/runtime/engine.ts";
import type { ExecResult } from "../../src/runtime/exec-result.ts";
import { HELPER_IMAGE } from "../../src/runtime/helper-container.ts";
import type { HostShell } from "../../src/runtime/host-shell.ts";
import { LABEL } from "../../src/runtime/labels.ts";

/**
 * An engine without Docker, for unit tests of `lab/`, the runner and the server: containers
 * and images in memory, node behaviour scripted by the test, and a host that keeps the state
 * fwlab's commands give it (bridges, veths, DOCKER-USER rules, nft tables, files) so a test can
 * check what a lab left behind. Everything asked of it is recorded.
 */

export interface FakeContainer {
  readonly id: string;
  readonly spec: ContainerCreate;
  state: "created" | "running" | "exited";
  pid: number;
  readonly output: string[];
  readonly created: number;
}

/** What a node does, as the test scripts it. */
export interface NodeScript {
  /** Its init's last line once started: "fwlab-ready" (default), "fwlab-failed: why", or nothing (it hangs). */
  ready?(c: FakeContainer): string | undefined;
  /** A command run in it (docker exec, or through its agent). Default: exit 0, no output. */
  exec?(c: FakeContainer, argv: readonly string[], stdin?: string): Partial<ExecResult> | undefined;
  /** A probe its agent runs. Default: ok. */
  probe?(c: FakeContainer, kind: string, params: Record<string, unknown>): ProbeReply;
  /** Whether its agent's `n`th start (1, 2, ...) comes up; one that does not ends at once. Default: yes. */
  agentStarts?(c: FakeContainer, n: number): boolean;
}

export interface ProbeReply {
  verdict: "ok" | "timeout" | "refused" | "unreachable" | "error";
  detail?: string;
  facts?: Record<string, unknown>;
  /** Answer after this long (ms). */
  delayMs?: number;
}

const nodeOf = (c: FakeContainer) => c.spec.labels[LABEL.node] ?? c.spec.name;

export class FakeRuntime implements ContainerRuntime {
  readonly containers = new Map<string, FakeContainer>();
  readonly calls: string[] = [];
  readonly images = new FakeImages();
  readonly networks = new FakeNetworks(this);
  readonly swarm = new FakeSwarm(this);
  /** Throws this from every call while set (an engine that went away). */
  down?: Error;
  private nextId = 1;
  private nextPid = 4000;
  private readonly deaths = new Set<(node: string, lab: string, code: number) => void>();
  private readonly lineWaiters = new Set<() => void>();

  constructor(readonly script: NodeScript = {}) {}

  private check(call: string): void {
    this.calls.push(call);
    if (this.down) throw this.down;
  }

  async reach(): Promise<void> {
    this.check("reach");
  }

  async version(): Promise<EngineVersion> {
    this.check("version");
    return { version: "fake", apiVersion: "1.41", kernel: "6.0", os: "linux", arch: "amd64" };
  }

  async info(): Promise<EngineInfo> {
    this.check("info");
    return {
      name: "fake",
      driver: "overlay2",
      rootDir: "/var/lib/docker",
      warnings: [],
      securityOptions: ["name=seccomp,profile=default"],
      operatingSystem: "Fake Linux",
      swarm: this.swarm.state(),
    };
  }

  async createContainer(spec: ContainerCreate): Promise<string> {
    this.check(`create ${spec.name}`);
    if ([...this.containers.values()].some((c) => c.spec.name === spec.name))
      throw Object.assign(new Error(`Conflict. The container name "/${spec.name}" is already in use`), {
        statusCode: 409,
      });
    const id = `c${this.nextId++}`.padEnd(12, "0");
    this.containers.set(id, {
      id,
      spec,
      state: "created",
      pid: 0,
      output: [],
      created: Math.floor(Date.now() / 1000),
    });
    return id;
  }

  async startContainer(id: string): Promise<number> {
    this.check(`start ${id}`);
    const c = this.get(id);
    c.state = "running";
    c.pid = this.nextPid++;
    // Its init reports once it is linked and its services answer: soon after the start.
    setTimeout(() => {
      const line = this.script.ready ? this.script.ready(c) : "fwlab-ready";
      if (line !== undefined && c.state === "running") this.say(c, line);
    }, 5);
    return c.pid;
  }

  async containerPid(id: string): Promise<number> {
    this.check(`pid ${id}`);
    return this.get(id).pid;
  }

  async removeContainer(id: string): Promise<void> {
    this.check(`remove ${id}`);
    const c = this.containers.get(id);
    if (!c) return;
    this.containers.delete(id);
    if (c.state === "running") this.died(c, 137);
  }

  async listContainers(labels: Record<string, string | true> = {}): Promise<ContainerInfo[]> {
    this.check("list");
    const want = Object.entries(labels);
    return [...this.containers.values()]
      .filter((c) =>
        want.length === 0
          ? LABEL.lab in c.spec.labels
          : want.every(([k, v]) => (v === true ? k in c.spec.labels : c.spec.labels[k] === v)),
      )
      .map((c) => ({
        id: c.id,
        name: c.spec.name,
        image: c.spec.image,
        imageId: `sha256:${c.spec.image}`,
        state: c.state,
        labels: c.spec.labels,
        created: c.created,
      }));
  }

  async runOnce(): Promise<{ exitCode: number; output: string }> {
    this.check("runOnce");
    return { exitCode: 0, output: "" };
  }

  async logs(id: string): Promise<string> {
    this.check(`logs ${id}`);
    return this.get(id).output.join("\n");
  }

  async waitForLine<T>(
    id: string,
    match: (line: string) => T | undefined,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<{ value?: T; lines: string[]; reason?: "timeout" | "exited" | "aborted" }> {
    const c = this.get(id);
    return new Promise((resolve) => {
      const look = () => {
        for (const l of c.output) {
          const value = match(l);
          if (value !== undefined) return done({ value });
        }
        if (c.state === "exited" || !this.containers.has(id)) done({ reason: "exited" });
      };
      const done = (r: { value?: T; reason?: "timeout" | "exited" | "aborted" }) => {
        clearTimeout(timer);
        this.lineWaiters.delete(look);
        resolve({ ...r, lines: [...c.output] });
      };
      const timer = setTimeout(() => done({ reason: "timeout" }), timeoutMs);
      signal?.addEventListener("abort", () => done({ reason: "aborted" }), { once: true });
      this.lineWaiters.add(look);
      look();
    });
  }

  async exec(id: string, argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    this.check(`exec ${id} ${argv.join(" ")}`);
    const c = this.get(id);
    if (c.state !== "running") return { exitCode: -1, stdout: "", stderr: "not running", durationMs: 0 };
    const r = this.script.exec?.(c, argv, opts.stdin) ?? {};
    return { exitCode: r.exitCode ?? 0, stdout: r.stdout ?? "", stderr: r.stderr ?? "", durationMs: 1 };
  }

  async execStream(id: string, argv: string[]): Promise<ExecStream> {
    this.check(`stream ${id} ${argv.join(" ")}`);
    const c = this.get(id);
    if (argv.join(" ") === "node /usr/local/lib/fwlab/agent.js") return this.agent(c);
    // Any other stream (an evidence reader): silent until stopped or its container goes.
    return this.silentStream(c);
  }

  /** Its streams end when stopped or when their container goes: nothing to close. */
  async close(): Promise<void> {}

  async execTty(id: string, argv: string[]): Promise<TtySession> {
    this.check(`tty ${id} ${argv.join(" ")}`);
    const output = new PassThrough();
    let end!: () => void;
    const ended = new Promise<void>((r) => {
      end = r;
    });
    const pid = this.nextPid++;
    setTimeout(() => !output.writableEnded && output.write("root@node:/# "), 1); // its prompt
    return {
      output,
      ended,
      write: (data) => !output.writableEnded && output.write(data),
      resize: async () => {},
      processId: async () => pid,
      stop: async () => {
        output.end();
        end();
      },
    };
  }

  async watchDeaths(lab: string, onDie: (node: string, exitCode: number) => void): Promise<{ stop(): void }> {
    this.check(`deaths ${lab}`);
    const f = (node: string, l: string, code: number) => l === lab && onDie(node, code);
    this.deaths.add(f);
    return { stop: () => this.deaths.delete(f) };
  }

  /** The test kills a node's container (as `docker kill` would). */
  kill(node: string, lab: string): void {
    const c = [...this.containers.values()].find(
      (x) => nodeOf(x) === node && x.spec.labels[LABEL.lab] === lab,
    );
    if (!c) throw new Error(`no node ${node} in ${lab}`);
    c.state = "exited";
    this.died(c, 137);
  }

  private died(c: FakeContainer, code: number): void {
    c.state = "exited";
    for (const f of this.deaths) f(nodeOf(c), c.spec.labels[LABEL.lab] ?? "", code);
    for (const w of this.lineWaiters) w();
    for (const end of this.streamEnds.get(c.id) ?? []) end();
  }

  private say(c: FakeContainer, line: string): void {
    c.output.push(line);
    for (const w of this.lineWaiters) w();
  }

  private get(id: string): FakeContainer {
    const c = this.containers.get(id);
    if (!c) throw Object.assign(new Error(`No such container: ${id}`), { statusCode: 404 });
    return c;
  }

  private readonly streamEnds = new Map<string, Set<() => void>>();

  private baseStream(c: FakeContainer, onInput: (line: string, out: PassThrough) => void): ExecStream {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let end!: () => void;
    const ended = new Promise<void>((r) => {
      end = () => {
        stdout.end();
        stderr.end();
        r();
      };
    });
    const ends = this.streamEnds.get(c.id) ?? new Set();
    ends.add(end);
    this.streamEnds.set(c.id, ends);
    let pending = "";
    return {
      stdout,
      stderr,
      ended,
      stop: async () => end(),
      write: (text) => {
        pending += text;
        let nl = pending.indexOf("\n");
        while (nl >= 0) {
          onInput(pending.slice(0, nl), stdout);
          pending = pending.slice(nl + 1);
          nl = pending.indexOf("\n");
        }
      },
      exitCode: async () => 0,
      keepAlive: () => {},
    };
  }

  private silentStream(c: FakeContainer): ExecStream {
    return this.baseStream(c, () => {});
  }

  private readonly agentStartsOf = new Map<string, number>();

  /** The probe agent's protocol (agent.js): ready, then a JSON answer per request. */
  private agent(c: FakeContainer): ExecStream {
    const s = this.baseStream(c, (line, stream) => {
      // A node that died answers nothing more.
      const out = { write: (text: string) => !stream.writableEnded && stream.write(text) };
      const req = JSON.parse(line) as {
        id: number;
        probe?: string;
        params?: Record<string, unknown>;
        cancel?: boolean;
      };
      if (req.cancel || !req.probe) return;
      if (req.probe === "exec") {
        const argv = req.params!.argv as string[];
        const r = this.script.exec?.(c, argv, req.params!.stdin as string | undefined) ?? {};
        const code = r.exitCode ?? 0;
        return void out.write(
          `${JSON.stringify({ id: req.id, verdict: code === 0 ? "ok" : "error", detail: `exit ${code}`, durationMs: 1, facts: { code, stdout: r.stdout ?? "", stderr: r.stderr ?? "" } })}\n`,
        );
      }
      if (req.probe === "mark")
        return void out.write(`${JSON.stringify({ id: req.id, verdict: "ok", durationMs: 0 })}\n`);
      const r = this.script.probe?.(c, req.probe, req.params ?? {}) ?? { verdict: "ok" };
      setTimeout(() => {
        if (c.state !== "running") return;
        out.write(
          `${JSON.stringify({ id: req.id, verdict: r.verdict, detail: r.detail ?? r.verdict, durationMs: r.delayMs ?? 1, facts: r.facts })}\n`,
        );
      }, r.delayMs ?? 1);
    });
    const n = (this.agentStartsOf.get(c.id) ?? 0) + 1;
    this.agentStartsOf.set(c.id, n);
    setTimeout(() => {
      if (this.script.agentStarts && !this.script.agentStarts(c, n)) return void s.stop();
      const out = s.stdout as PassThrough;
      if (!out.writableEnded) out.write(`${JSON.stringify({ ready: true })}\n`);
    }, 1);
    return s;
  }
}

/** A swarm of fake engines: membership, and overlays that every member sees. */
export class FakeCluster {
  readonly id = "fakecluster";
  readonly members = new Map<FakeRuntime, { addr: string; manager: boolean; id: string }>();
  readonly networks = new Map<string, NetworkInfo>();
  token = "SWMTKN-fake";
  labels: Record<string, string> = {};
}

class FakeSwarm implements SwarmControl {
  cluster?: FakeCluster;
  constructor(private readonly rt: FakeRuntime) {}
  state(): SwarmState {
    const me = this.cluster?.members.get(this.rt);
    const managers = [...(this.cluster?.members.values() ?? [])].filter((m) => m.manager);
    return {
      nodeId: me?.id ?? "",
      state: me ? "active" : "inactive",
      managers: managers.length,
      clusterId: me?.manager ? this.cluster!.id : "",
      manager: me?.manager ?? false,
      nodeAddr: me?.addr ?? "",
      remoteManagers: managers.map((m) => `${m.addr}:2377`),
    };
  }
  async init(addr: string, labels: Record<string, string> = {}): Promise<void> {
    this.cluster = new FakeCluster();
    this.cluster.labels = labels;
    this.cluster.members.set(this.rt, { addr, manager: true, id: `node-${addr}` });
  }
  /** The cluster a join goes to (a test sets it: the fake has no network to find it by). */
  static joinable?: FakeCluster;
  async join(_token: string, _manager: string, addr: string): Promise<void> {
    this.cluster ??= FakeSwarm.joinable;
    if (!this.cluster) throw new Error("join: give the fake a cluster first (joinFakeCluster)");
    this.cluster.members.set(this.rt, { addr, manager: false, id: `node-${addr}` });
  }
  async leave(): Promise<void> {
    this.cluster?.members.delete(this.rt);
    this.cluster = undefined;
  }
  async inspect(): Promise<{ workerToken: string; labels: Record<string, string> }> {
    return { workerToken: this.cluster!.token, labels: this.cluster!.labels };
  }
  async nodes(): Promise<SwarmNode[]> {
    return [...(this.cluster?.members.values() ?? [])].map((m) => ({
      id: m.id,
      addr: m.addr,
      role: m.manager ? "manager" : "worker",
      state: "ready",
      leader: m.manager,
    }));
  }
  async removeNode(): Promise<void> {}
}

class FakeNetworks implements NetworkStore {
  constructor(private readonly rt: FakeRuntime) {}
  private get all(): Map<string, NetworkInfo> {
    const c = this.rt.swarm.cluster;
    if (!c) throw new Error("not a swarm member");
    return c.networks;
  }
  async createOverlay(spec: OverlayCreate): Promise<void> {
    this.rt.calls.push(`network create ${spec.name} ${spec.subnet} ${spec.ipRange} ${spec.gateway}`);
    if (!this.rt.swarm.state().manager) throw new Error("overlays are created on a manager");
    this.all.set(spec.name, {
      id: spec.name,
      name: spec.name,
      driver: "overlay",
      subnet: spec.subnet,
      labels: spec.labels,
    });
  }
  async list(labels: Record<string, string | true> = {}): Promise<NetworkInfo[]> {
    if (!this.rt.swarm.cluster) return [];
    const want = Object.entries(labels);
    return [...this.all.values()].filter((n) =>
      want.every(([k, v]) => (v === true ? k in n.labels : n.labels[k] === v)),
    );
  }
  async remove(name: string): Promise<void> {
    this.rt.calls.push(`network rm ${name}`);
    this.all.delete(name);
  }
}

let nodeIds = 0;

/** Puts fake engines in one swarm: the first is its manager. */
export function joinFakeCluster(...engines: { runtime: FakeRuntime }[]): FakeCluster {
  const cluster = new FakeCluster();
  engines.forEach((e, i) => {
    e.runtime.swarm.cluster = cluster;
    cluster.members.set(e.runtime, { addr: `10.99.0.${11 + i}`, manager: i === 0, id: `node${++nodeIds}` });
  });
  return cluster;
}

class FakeImages implements ImageStore {
  readonly refs = new Map<string, Record<string, string>>();
  async imageLabels(ref: string) {
    return this.refs.get(ref);
  }
  async imageId(ref: string) {
    return this.refs.has(ref) ? `sha256:${ref}` : undefined;
  }
  async importImage(_tar: Readable, ref: string, labels: Record<string, string>) {
    this.refs.set(ref, labels);
  }
  async buildImage(_c: Readable, opts: { ref: string; labels: Record<string, string> }) {
    this.refs.set(opts.ref, opts.labels);
  }
  /** What was sent here by `docker load`, ref by ref. */
  readonly loaded: string[] = [];
  async saveImages(refs: readonly string[]): Promise<Readable> {
    return new PassThrough().end(JSON.stringify(refs));
  }
  async loadImages(tar: Readable) {
    let text = "";
    for await (const chunk of tar) text += String(chunk);
    for (const r of JSON.parse(text) as string[]) {
      this.refs.set(r, {});
      this.loaded.push(r);
    }
  }
}

/**
 * The engine's host as the helper would change it: bridges and veths (from `ip -batch`), the
 * DOCKER-USER chain (from iptables-restore), nft tables, and files (sysctls, /proc).
 */
export class FakeHost implements HostShell {
  readonly commands: { argv: readonly string[]; stdin?: string }[] = [];
  /** device → alias (bridges), or master bridge (veths) */
  readonly bridges = new Map<string, string>();
  readonly veths = new Map<string, string>();
  readonly dockerUser: string[] = [];
  /** The host's FORWARD chain as Docker leaves it (`iptables -S FORWARD`). */
  forward = ["-P FORWARD DROP", "-A FORWARD -j DOCKER-USER", "-A FORWARD -j DOCKER-ISOLATION-STAGE-1"];
  readonly nftTables = new Set<string>();
  readonly files = new Map<string, string>();
  /** Makes a command fail: return a result for it, or undefined to let it through. */
  fail?: (argv: readonly string[]) => Partial<ExecResult> | undefined;

  async run(argv: readonly string[], opts: { stdin?: string } = {}): Promise<ExecResult> {
    this.commands.push({ argv, stdin: opts.stdin });
    const failed = this.fail?.(argv);
    if (failed) return { exitCode: 1, stdout: "", stderr: "", durationMs: 0, ...failed };
    const ok = (stdout = "") => ({ exitCode: 0, stdout, stderr: "", durationMs: 0 });
    const [cmd, ...args] = argv;
    if (cmd === "ip") return ok(this.ip(args, opts.stdin ?? ""));
    if (cmd === "iptables-nft" && args.at(-1) === "FORWARD") return ok(this.forward.join("\n"));
    if (cmd === "iptables-nft" && args.includes("-S"))
      return ok(["-N DOCKER-USER", ...this.dockerUser, "-A DOCKER-USER -j RETURN"].join("\n"));
    if (cmd === "iptables-nft-restore") {
      for (const l of (opts.stdin ?? "").split("\n")) {
        const m = /^-([ID]) DOCKER-USER (?:\d+ )?(.*)$/.exec(l);
        if (!m) continue;
        const rule = `-A DOCKER-USER ${m[2]!.replace(/--comment (fwlab:\S+)/, '--comment "$1"')}`;
        if (m[1] === "I") this.dockerUser.unshift(rule);
        else this.dockerUser.splice(this.dockerUser.indexOf(rule), 1);
      }
      return ok();
    }
    // fwlab's host tables change under the host lock: `flock LOCK sh -c "[look ||] nft -f -"`.
    if (cmd === "flock" && args[1] === "sh" && /nft -f -$/.test(args[3] ?? "")) {
      const onlyIfNoBridge = args[3]!.includes("alias fwlab:");
      if (onlyIfNoBridge && this.bridges.size > 0) return ok();
      return this.run(["nft", "-f", "-"], opts);
    }
    if (cmd === "nft") {
      for (const m of (opts.stdin ?? "").matchAll(/^(delete )?table (\w+ \w+)\b/gm)) {
        if (m[1]) this.nftTables.delete(m[2]!);
        else this.nftTables.add(m[2]!);
      }
      return ok();
    }
    return ok();
  }

  async read(path: string): Promise<string | undefined> {
    return this.files.get(path);
  }

  async write(path: string, data: string): Promise<void> {
    this.files.set(path, data);
  }

  /** Semaphores as the helper keeps them: slots held per name, and who waits. */
  readonly slots = new Map<string, { held: number; waiting: (() => void)[] }>();

  async acquire(name: string, limit: number): Promise<() => Promise<void>> {
    const s = this.slots.get(name) ?? { held: 0, waiting: [] };
    this.slots.set(name, s);
    if (s.held >= limit) await new Promise<void>((r) => s.waiting.push(r));
    s.held++;
    let given = false;
    return async () => {
      if (given) return;
      given = true;
      s.held--;
      s.waiting.shift()?.();
    };
  }

  prepare(): void {}

  private kmsgOut?: PassThrough;
  /** A kernel log record, as the host's reader passes it on (seq 1 onwards). */
  kmsg(text: string): void {
    this.kmsgSeq++;
    this.kmsgOut!.write(`${JSON.stringify({ r: `4,${this.kmsgSeq},${this.kmsgSeq * 1000},-;${text}` })}\n`);
  }
  private kmsgSeq = 0;

  async close(): Promise<void> {}

  async stream(argv: readonly string[]): Promise<ExecStream> {
    this.commands.push({ argv });
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    // The kernel log reader says it reads, then stays quiet (a test may write records: kmsg()).
    if (argv.includes("kmsg")) {
      stdout.write(`${JSON.stringify({ ready: true })}\n`);
      this.kmsgOut = stdout;
    }
    let end!: () => void;
    const ended = new Promise<void>((r) => {
      end = r;
    });
    return { stdout, stderr, ended, stop: async () => end(), exitCode: async () => 0 };
  }

  private ip(args: string[], batch: string): string {
    if (args.includes("-batch")) {
      for (const line of batch.split("\n")) {
        const [bridge, alias, veth, port, gone] = [
          /^link add name (\S+) type bridge/,
          /^link set dev (\S+) alias (\S+)/,
          /^link add name (\S+) type veth/,
          /^link set dev (\S+) master (\S+)/,
          /^link del dev (\S+)/,
        ].map((re) => re.exec(line));
        if (bridge) this.bridges.set(bridge[1]!, "");
        else if (alias) this.bridges.set(alias[1]!, alias[2]!);
        else if (veth) this.veths.set(veth[1]!, "");
        else if (port) this.veths.set(port[1]!, port[2]!);
        else if (gone) {
          this.bridges.delete(gone[1]!);
          this.veths.delete(gone[1]!);
        }
      }
      return "";
    }
    const bridges = [...this.bridges].map(
      ([d, alias], i) => `${i + 10}: ${d}: <BROADCAST,UP> mtu 1500 alias ${alias}`,
    );
    if (args.join(" ") === "-o link show type bridge") return bridges.join("\n");
    return [
      ...bridges,
      ...[...this.veths].map(([d, br], i) => `${i + 100}: ${d}@if2: <UP> mtu 1500 master ${br}`),
    ].join("\n");
  }
}

/** A fake engine: its runtime and host, for `startLab(..., { engine })` and the like. */
export function fakeEngine(
  script: NodeScript = {},
  name = "fake",
): Engine & { runtime: FakeRuntime; host: FakeHost } {
  const runtime = new FakeRuntime(script);
  const host = new FakeHost();
  return engineOf({ name, host: `unix:///${name}.sock`, source: "default" }, runtime, host) as Engine & {
    runtime: FakeRuntime;
    host: FakeHost;
  };
}

/** Every image a lab file may name, present and current. */
export function withImages(engine: { runtime: FakeRuntime }, refs: readonly string[]): void {
  for (const r of refs) engine.runtime.images.refs.set(r, {});
}

/** A host helper's container as an engine lists it (named after an image; `fwlab.helper=hostd`). */
export const helperContainer = (name: string): ContainerCreate => ({
  name,
  image: HELPER_IMAGE,
  command: [],
  env: {},
  labels: { [LABEL.helper]: "hostd" },
  capAdd: [],
  sysctls: {},
  network: "host",
});
