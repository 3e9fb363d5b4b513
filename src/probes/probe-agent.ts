import type { StartedLab } from "../lab/started-lab.ts";
import type { ExecStream } from "../runtime/container-runtime.ts";
import type { NodeExec } from "../runtime/exec-result.ts";
import { eachLine } from "../util/each-line.ts";
import type { Verdict } from "./verdict.ts";

/** A connection or datagram flow the agent announces before its first packet leaves. */
export interface ProbeFlow {
  readonly proto: "tcp" | "udp" | "icmp";
  readonly dst: string;
  readonly sport?: number;
  readonly dport?: number;
}

export interface RunOptions {
  readonly signal?: AbortSignal;
  /** Each flow as the agent announces it, and again (answered) once its first packet was answered. */
  readonly onFlow?: (flow: ProbeFlow, answered: boolean) => void;
}

export interface AgentResult {
  readonly verdict: Verdict;
  readonly detail: string;
  /** Time the probe took inside the node, ms. */
  readonly durationMs: number;
  /** When it ended, ms since the epoch on the node's host clock (absent when fwlab decided it). */
  readonly endedAt?: number;
  readonly facts?: Record<string, unknown>;
}

/**
 * How long a probe agent may take to say it is ready. Twice the node's other readers' 15 s: an
 * agent is a Node.js start in the node, and six labs across three simulated engines on two cores
 * kept some past 15 s; one given up on is started again from nothing (LabRun.agent), which
 * throws away the CPU its first start had already spent on a machine short of it.
 */
const AGENT_START_MS = 30_000;

/**
 * One long-lived probe agent (images/common/usr/local/lib/fwlab/agent.js) in one node, fed
 * over one attached stream: a probe costs a line each way instead of a `docker exec` (~43 ms).
 */
export class ProbeAgent {
  private nextId = 1;
  private ended = false;
  private readonly pending = new Map<number, (r: AgentResult) => void>();
  private readonly flows = new Map<number, NonNullable<RunOptions["onFlow"]>>();

  private constructor(
    readonly node: string,
    private readonly stream: ExecStream,
  ) {}

  static async start(lab: StartedLab, node: string): Promise<ProbeAgent> {
    const stream = await lab.execStream(node, ["node", "/usr/local/lib/fwlab/agent.js"], { stdin: true });
    let ready!: () => void;
    const isReady = new Promise<void>((r) => {
      ready = r;
    });
    const agent = new ProbeAgent(node, stream);
    eachLine(stream.stdout, (line) => {
      const msg = JSON.parse(line) as {
        ready?: boolean;
        id?: number;
        flow?: ProbeFlow;
        answered?: boolean;
      } & AgentResult;
      if (msg.ready) return ready();
      if (msg.flow) return agent.flows.get(msg.id!)?.(msg.flow, msg.answered === true);
      const resolve = agent.pending.get(msg.id!);
      agent.pending.delete(msg.id!);
      agent.flows.delete(msg.id!);
      resolve?.(msg);
    });
    stream.ended.then(() => {
      agent.ended = true;
      for (const [, resolve] of agent.pending)
        resolve({ verdict: "error", detail: `[${node}] the probe agent ended`, durationMs: 0 });
      agent.pending.clear();
    });
    // Node's own start in a container: well under a second idle, several on two cores with many
    // labs starting at once (five seed packs at once, each three labs at a time, saw more than 10 s).
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<"late">((r) => {
      timer = setTimeout(() => r("late"), AGENT_START_MS);
    });
    const why = await Promise.race([
      isReady.then(() => "ready" as const),
      stream.ended.then(() => "ended" as const),
      late,
    ]).finally(() => clearTimeout(timer));
    if (why !== "ready") {
      await stream.stop();
      throw new Error(
        `[${node}] the probe agent ${why === "late" ? `did not start within ${AGENT_START_MS / 1000} s` : "ended before it started"}`,
      );
    }
    return agent;
  }

  run(probe: string, params: Record<string, unknown>, opts: RunOptions = {}): Promise<AgentResult> {
    const { signal, onFlow } = opts;
    // An agent whose stream ended (its node died, the engine went away) answers nothing more.
    if (this.ended)
      return Promise.resolve({
        verdict: "error",
        detail: `[${this.node}] the probe agent ended`,
        durationMs: 0,
      });
    const id = this.nextId++;
    return new Promise((resolve) => {
      // The agent stops the probe too (its socket or program), so nothing of it lingers.
      const onAbort = () => {
        this.pending.delete(id);
        this.flows.delete(id);
        this.stream.write!(`${JSON.stringify({ id, cancel: true })}\n`);
        resolve({ verdict: "error", detail: "aborted", durationMs: 0 });
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.pending.set(id, (r) => {
        signal?.removeEventListener("abort", onAbort);
        resolve(r);
      });
      if (onFlow) this.flows.set(id, onFlow);
      this.stream.write!(`${JSON.stringify({ id, probe, params })}\n`);
    });
  }

  stop(): Promise<void> {
    return this.stream.stop();
  }
}

/** A NodeExec through a node's agent: a line each way instead of a docker exec. */
export const agentExec =
  (agent: () => Promise<ProbeAgent>): NodeExec =>
  async (argv, opts = {}) => {
    const r = await (await agent()).run("exec", { argv, stdin: opts.stdin });
    return {
      exitCode: typeof r.facts?.code === "number" ? r.facts.code : -1,
      stdout: String(r.facts?.stdout ?? ""),
      stderr: String(r.facts?.stderr ?? (r.verdict === "ok" ? "" : r.detail)),
      durationMs: r.durationMs,
    };
  };
