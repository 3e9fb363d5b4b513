import type { EventBus } from "../evidence/event-bus.ts";
import type { KernelLogWatch } from "../evidence/kernel-log-source.ts";
import type { NflogSource } from "../evidence/nflog-source.ts";
import type { StartedLab } from "../lab/started-lab.ts";
import { agentExec, ProbeAgent } from "../probes/probe-agent.ts";
import type { NodeExec } from "../runtime/exec-result.ts";
import { LabWatchers } from "./lab-watchers.ts";
import { NodeDeaths } from "./node-deaths.ts";
import type { SavedState } from "./saved-state.ts";

/**
 * One lab as a run uses it: attached or started once, its nodes' probe agents (through which
 * commands and markers go too: a line each way instead of a docker exec), its evidence
 * listeners, which live as long as the run (starting them costs more than most scenarios' steps),
 * and the rulesets the run has yet to put back.
 */
export class LabRun {
  private readonly agents = new Map<string, Promise<ProbeAgent>>();
  /**
   * Rulesets the lab had before this run changed them, still to be put back: a scenario whose
   * successor loads its own rulesets into the same nodes leaves them for that one to replace.
   */
  kept?: SavedState["rulesets"];

  private watching?: LabWatchers;

  private constructor(
    readonly lab: StartedLab,
    /** This run started the lab (and removes it at the end). */
    readonly started: boolean,
    readonly deaths: NodeDeaths,
  ) {}

  get watchers(): LabWatchers {
    return this.watching!;
  }

  static async start(
    lab: StartedLab,
    started: boolean,
    bus: EventBus,
    kernel: KernelLogWatch,
    opts: { readonly nflog?: NflogSource } = {},
  ): Promise<LabRun> {
    const firewalls = lab.nodes.filter((n) => n.firewall).map((n) => n.name);
    const run = new LabRun(
      lab,
      started,
      await NodeDeaths.watch(
        [...lab.engines].map(([host, e]) => ({ host, runtime: e.runtime })),
        lab.name,
        firewalls,
      ),
    );
    const mark = (node: string) => async (sport: number) => {
      await (await run.agent(node)).run("mark", { sport });
    };
    try {
      run.watching = await LabWatchers.start(lab, bus, kernel, (n) => run.exec(n), mark, opts.nflog);
      return run;
    } catch (err) {
      await run.stop();
      throw err;
    }
  }

  /** The node's probe agent, started on first use (again after a start that failed). */
  agent(node: string): Promise<ProbeAgent> {
    let agent = this.agents.get(node);
    if (!agent) {
      // Many labs starting at once can keep a node's start past its 15 s: by a second try the
      // burst is over. One that fails twice fails the commands waiting for it, and the next
      // command starts another rather than failing the rest of the run with it.
      agent = ProbeAgent.start(this.lab, node).catch(() => ProbeAgent.start(this.lab, node));
      this.agents.set(node, agent);
      agent.catch(() => {
        if (this.agents.get(node) === agent) this.agents.delete(node);
      });
    }
    return agent;
  }

  /** A node's commands through its agent. */
  exec(node: string): NodeExec {
    return agentExec(() => this.agent(node));
  }

  get firewalls(): string[] {
    return this.lab.nodes.filter((n) => n.firewall).map((n) => n.name);
  }

  /** Stops the listeners and agents (the lab itself is the caller's). */
  async stop(): Promise<void> {
    await this.watching?.stop();
    this.deaths.stop();
    // An agent that never started has nothing to stop.
    await Promise.all([...this.agents.values()].map(async (a) => (await a.catch(() => undefined))?.stop()));
  }
}
