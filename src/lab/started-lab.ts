import { FwlabError } from "../errors.ts";
import { type LoadedRuleset, type LoadOptions, loadRuleset } from "../firewall/load-ruleset.ts";
import type { ExecOptions, ExecStream, TtySession } from "../runtime/container-runtime.ts";
import type { Engine } from "../runtime/engine.ts";
import type { ExecResult, NodeExec } from "../runtime/exec-result.ts";
import {
  getNodeSysctls,
  hangUp,
  namespacePackets,
  nodeSysctl,
  setNodeSysctls,
} from "../runtime/host-netns.ts";
import { hint } from "../util/did-you-mean.ts";
import { findLabNodes, type LabEngines, oneEngine, type Unreachable } from "./lab-engines.ts";
import type { LabNode } from "./lab-node.ts";
import { statusOf } from "./lab-status.ts";
import { removeLab } from "./remove-lab.ts";

/**
 * A running lab. `await using lab = await startLab("docker-compose.yml")` stops it at the end
 * of the scope; `stop()` may be called any number of times.
 */
export class StartedLab implements AsyncDisposable {
  private stopped = false;
  /** The engines it runs on, by host name: one for a single-host lab. */
  readonly engines: LabEngines;

  constructor(
    readonly name: string,
    engines: LabEngines | Engine,
    private readonly nodeList: LabNode[],
    /** Hosts of a multi-host lab that did not answer when it was attached: their nodes are missing. */
    readonly unreachable: readonly Unreachable[] = [],
  ) {
    this.engines = "runtime" in engines ? oneEngine(engines as Engine) : (engines as LabEngines);
  }

  /**
   * Finds a running lab by name (from Docker labels) through one of its engines; a multi-host
   * lab's other engines are found from its labels. Hosts that do not answer are left out and
   * named in `unreachable` (steps on their nodes fail saying so).
   */
  static async attach(engine: Engine, name: string): Promise<StartedLab> {
    const { engines, unreachable, nodes } = await findLabNodes(engine, name);
    if (nodes.length === 0)
      throw new FwlabError(
        `lab "${name}" is not running on engine ${engine.name}${unreachable.length ? ` (nor could ${unreachable.map((u) => u.host).join(", ")} be asked: ${unreachable[0]!.reason})` : ""}; start it with \`fwlab up\``,
      );
    return new StartedLab(name, engines, nodes, unreachable);
  }

  /** The lab's first engine (its only one, unless it spans hosts). */
  get engine(): Engine {
    return this.engines.values().next().value!;
  }

  /** Whether every node is running and its init said its services answer (on every host). */
  async ready(): Promise<boolean> {
    if (this.unreachable.length > 0) return false;
    const parts = await Promise.all(
      [...this.engines].map(([host, e]) =>
        statusOf(
          e.runtime,
          this.name,
          this.nodeList.filter((n) => n.host === host || this.engines.size === 1),
        ),
      ),
    );
    return parts.every((p) => p.ready || p.nodes.length === 0) && parts.some((p) => p.ready);
  }

  /** Whether the lab spans several hosts. */
  get multiHost(): boolean {
    return this.engines.size > 1 || this.unreachable.length > 0;
  }

  /** The engine a node runs on. */
  engineOf(node: string): Engine {
    const n = this.node(node);
    const e = this.engines.get(n.host) ?? (this.engines.size === 1 ? this.engine : undefined);
    if (!e) throw new FwlabError(`[${node}] runs on host ${n.host}, which this lab does not know`);
    return e;
  }

  private runtimeOf(node: string) {
    return this.engineOf(node).runtime;
  }

  get nodes(): readonly LabNode[] {
    return this.nodeList;
  }

  node(name: string): LabNode {
    const n = this.nodeList.find((x) => x.name === name);
    if (!n && this.unreachable.length > 0) {
      throw new FwlabError(
        `[${name}] cannot be reached: ${this.unreachable.map((u) => `host ${u.host} does not answer (${u.reason})`).join("; ")}`,
      );
    }
    if (!n) {
      const known = this.nodeList.map((x) => x.name);
      throw new FwlabError(
        `lab "${this.name}" has no node "${name}"${hint(name, known)}; its nodes: ${known.join(", ")}`,
        2,
      );
    }
    return n;
  }

  /** The node's address on a network, or its first address. */
  address(node: string, network?: string): string {
    const n = this.node(node);
    const addr = network ? n.addresses[network] : Object.values(n.addresses)[0];
    if (!addr) throw new FwlabError(`[${node}] has no address${network ? ` on network "${network}"` : ""}`);
    return addr;
  }

  /** The node's IPv6 address on a network, or its first one. */
  address6(node: string, network?: string): string {
    const n = this.node(node);
    const addr = network ? n.addresses6[network] : Object.values(n.addresses6)[0];
    if (!addr)
      throw new FwlabError(
        `[${node}] has no IPv6 address${network ? ` on network "${network}"` : ""} (the lab file gives it none: ipv6_address)`,
      );
    return addr;
  }

  /** Runs argv in a node. Never throws on a non-zero exit. */
  exec(node: string, argv: string[], opts?: ExecOptions): Promise<ExecResult> {
    return this.runtimeOf(node).exec(this.node(node).container, argv, opts);
  }

  /** Starts a long-running command in a node and streams its output (see runtime.execStream). */
  execStream(node: string, argv: string[], opts?: { stdin?: boolean }): Promise<ExecStream> {
    return this.runtimeOf(node).execStream(this.node(node).container, argv, opts);
  }

  /**
   * An interactive shell in a node on a pseudo-terminal (the dashboard's terminal). Its stop()
   * hangs the shell up (its process group gets SIGHUP, as when a terminal closes) from the
   * engine's host: the engine API cannot signal an exec.
   */
  async shell(node: string, size: { cols: number; rows: number }): Promise<TtySession> {
    const engine = this.engineOf(node);
    const tty = await engine.runtime.execTty(this.node(node).container, ["bash", "-l"], size);
    let stopping: Promise<void> | undefined;
    return {
      ...tty,
      stop: () => {
        stopping ??= (async () => {
          const pid = await tty.processId();
          if (pid) await hangUp(engine.host, pid);
          await tty.stop();
        })();
        return stopping;
      },
    };
  }

  /** Packets in and out of a node's interfaces so far (loopback aside). */
  async packets(node: string): Promise<number> {
    // The dashboard asks every node every second: the PID is looked up once, and again only
    // when it no longer answers (the container was restarted).
    const container = this.node(node).container;
    const { host, runtime } = this.engineOf(node);
    const cached = this.pids.get(container);
    if (cached !== undefined) {
      const n = await namespacePackets(host, cached);
      if (n !== undefined) return n;
    }
    const pid = await runtime.containerPid(container);
    this.pids.set(container, pid);
    const n = await namespacePackets(host, pid);
    if (n === undefined) throw new FwlabError(`[${node}] is not running`);
    return n;
  }

  private readonly pids = new Map<string, number>();

  /** Reads a net.* sysctl of a node (its own network namespace). */
  async getSysctl(node: string, key: string): Promise<string> {
    const { host, runtime } = this.engineOf(node);
    const pid = await runtime.containerPid(this.node(node).container);
    return nodeSysctl(host, pid, key).catch((err: FwlabError) => {
      throw new FwlabError(`[${node}] ${err.message}`, err.exitCode);
    });
  }

  /**
   * Sets a net.* sysctl of a node, from the host in the node's namespace: Docker mounts
   * /proc/sys read-only inside containers. Host-wide keys (nf_conntrack_max) are refused by the kernel.
   */
  async setSysctl(node: string, key: string, value: string): Promise<void> {
    if (!/^net\./.test(key))
      throw new FwlabError(`[${node}] only net.* sysctls belong to a node; ${key} is the host's`, 2);
    const { host, runtime } = this.engineOf(node);
    const pid = await runtime.containerPid(this.node(node).container);
    await nodeSysctl(host, pid, key, value).catch((err: FwlabError) => {
      throw new FwlabError(`[${node}] ${err.message}`, err.exitCode);
    });
  }

  /**
   * Loads a ruleset file into a firewall node, all or nothing (see firewall/load-ruleset.ts);
   * `via` runs the loader (the node's probe agent, say) instead of a docker exec.
   */
  async loadRuleset(
    node: string,
    file: string,
    opts: Omit<LoadOptions, "defaultBackend"> & { via?: NodeExec } = {},
  ): Promise<LoadedRuleset> {
    const n = this.node(node);
    if (!n.firewall) {
      throw new FwlabError(
        `[${node}] is not a firewall node (set x-fwlab.firewall: true in the lab file)`,
        2,
      );
    }
    const runtime = this.runtimeOf(node);
    const loaded = await loadRuleset(
      node,
      opts.via ?? ((argv, o) => runtime.exec(n.container, argv, o)),
      file,
      {
        ...opts,
        defaultBackend: n.backend,
      },
    );
    // A script's own kernel settings (`echo 1 > /proc/sys/net/ipv4/ip_forward`), as its shell would
    // have written them after its rules: from the host, in the node's namespace.
    if (loaded.sysctls.length > 0) {
      const { host } = this.engineOf(node);
      const pid = await runtime.containerPid(n.container);
      await setNodeSysctls(host, pid, loaded.sysctls).catch((err: Error) => {
        const first = loaded.sysctls[0]!;
        throw new FwlabError(
          `[${node}] ruleset ${first.file} is loaded, but not all of its settings (${loaded.sysctls.map((x) => `line ${x.line} ${x.key}=${x.value}`).join(", ")}): ${err.message}`,
        );
      });
    }
    return loaded;
  }

  /** The net.* sysctls of a node a key names (`*` in it: every key it matches), with their values. */
  async getSysctls(node: string, key: string): Promise<{ key: string; value: string }[]> {
    const { host, runtime } = this.engineOf(node);
    const pid = await runtime.containerPid(this.node(node).container);
    return getNodeSysctls(host, pid, key);
  }

  /** Every table and chain with line numbers and packet/byte counters, as iptables -L -v prints them. */
  async rules(node: string): Promise<string> {
    const r = await this.exec(node, ["fwlab-ruleset", "list"]);
    if (r.exitCode !== 0) throw new FwlabError(`[${node}] fwlab-ruleset list failed: ${r.stderr.trim()}`);
    return r.stdout;
  }

  /** Removes every container and network of the lab, on every host. Idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    const r = await removeLab(this.engine, this.name, this.engines, this.unreachable);
    // What a host that went away still holds is said, not lost (its next `down` removes it).
    const left = [
      ...r.unreachable.map((u) => `host ${u.host} did not answer, what runs there is left (${u.reason})`),
      ...(r.left ?? []),
    ];
    if (left.length > 0) process.emitWarning(`lab ${this.name}: ${left.join("; ")}`, { code: "FWLAB_LEFT" });
    this.stopped = true;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
