import { isAddress } from "../probes/params.ts";
import type { ContainerRuntime } from "../runtime/container-runtime.ts";
import type { Step } from "./scenario-schema.ts";
import type { StepResult } from "./step-result.ts";

interface Death {
  readonly exitCode: number;
  readonly at: number;
  /** The host it ran on, named when the lab spans several. */
  readonly host?: string;
  /** Set once its engine was asked and did not answer (it went away with its containers). */
  engineGone?: string;
}

const clock = (t: number) => new Date(t).toISOString().slice(11, 19);

/**
 * The nodes of a lab whose containers died during a run (killed, crashed, stopped by hand).
 * A step that needs a dead node fails with that reason instead of running; a step that failed
 * while a node it needs died says so. The other steps run as usual.
 */
export class NodeDeaths {
  private readonly deaths = new Map<string, Death>();
  private readonly reported = new Set<string>();

  private constructor(
    private readonly watch: { stop(): void },
    private readonly firewalls: readonly string[],
  ) {}

  /**
   * Watches the lab's containers on each engine it runs on (one for a single-host lab). When a
   * node dies its engine is asked whether it still answers: a host that went away is named so.
   */
  static async watch(
    runtimes: ContainerRuntime | readonly { readonly host: string; readonly runtime: ContainerRuntime }[],
    lab: string,
    firewalls: readonly string[],
  ): Promise<NodeDeaths> {
    const list = "watchDeaths" in runtimes ? [{ host: "", runtime: runtimes }] : runtimes;
    const named = list.length > 1;
    const opened: { stop(): void }[] = [];
    // Made first: a death while the other engines' watches open is kept too.
    const self = new NodeDeaths(
      {
        stop: () => {
          for (const w of opened) w.stop();
        },
      },
      firewalls,
    );
    const watches = await Promise.allSettled(
      list.map(({ host, runtime }) =>
        runtime.watchDeaths(lab, (node: string, exitCode: number) => {
          const death: Death = { exitCode, at: Date.now(), ...(named ? { host } : {}) };
          self.deaths.set(node, death);
          if (!named) return;
          const timer = new Promise<never>((_, reject) =>
            setTimeout(() => reject(new Error("no answer within 3 s")), 3000).unref(),
          );
          Promise.race([runtime.version(), timer]).catch((err: Error) => {
            death.engineGone = err.message;
          });
        }),
      ),
    );
    for (const w of watches) if (w.status === "fulfilled") opened.push(w.value);
    const failed = watches.find((w) => w.status === "rejected");
    if (failed) {
      self.stop(); // none left watching
      throw (failed as PromiseRejectedResult).reason;
    }
    return self;
  }

  /** The nodes a step cannot do without: its own, its target, and the firewalls in the way. */
  needs(step: Step): string[] {
    if ("probe" in step) {
      const to = "to" in step ? step.to : step.server;
      const target = isAddress(to) ? [] : [to.split(":")[0]!];
      return [...new Set([step.from, ...target, ...this.firewalls])];
    }
    if ("load" in step) return [step.load.node];
    if ("sysctl" in step) return [step.sysctl.node];
    return [step.exec.node];
  }

  private why(step: Step, since = 0): string | undefined {
    const dead = this.needs(step).filter((n) => (this.deaths.get(n)?.at ?? -1) >= since);
    if (!dead.length) return undefined;
    return dead
      .map((n) => {
        const d = this.deaths.get(n)!;
        const where = d.host ? ` on host ${d.host}` : "";
        const gone = d.engineGone ? `; the engine of host ${d.host} does not answer (${d.engineGone})` : "";
        return `[${n}]${where} its container died at ${clock(d.at)} (exit ${d.exitCode}${d.exitCode === 137 ? ", killed" : ""})${gone}`;
      })
      .join("; ");
  }

  /** A failed result for a step that needs a node that is already dead, else undefined. */
  skip(step: Step, index: number): StepResult | undefined {
    const why = this.why(step);
    if (!why) return undefined;
    return {
      index,
      name: step.name,
      kind: "probe" in step ? "probe" : "load" in step ? "load" : "exec",
      probe: "probe" in step ? step.probe : undefined,
      expected: String(("expect" in step ? step.expect : undefined) ?? "succeeds"),
      observed: "not run",
      passed: false,
      reason: `not run: a node it needs is gone: ${why}`,
      detail: why,
      why: step.why,
      durationMs: 0,
      checks: [],
      startedAt: Date.now(),
    };
  }

  /**
   * Runs a step unless a node it needs is dead; a failure (or an error) while a node it needs
   * died names the death. Errors with every needed node alive are the run's own: rethrown.
   */
  async run(step: Step, index: number, fn: () => Promise<StepResult>): Promise<StepResult> {
    const skipped = this.skip(step, index);
    if (skipped) return skipped;
    const since = Date.now();
    try {
      const r = await fn();
      const why = r.passed ? undefined : this.why(step, since);
      return why
        ? { ...r, reason: `${r.reason ?? "failed"} (a node it needs died while it ran: ${why})` }
        : r;
    } catch (err) {
      // The engine reports a death a moment after the exec that met it failed.
      await new Promise((r) => setTimeout(r, 300));
      const why = this.why(step, since);
      if (!why) throw err;
      return {
        ...this.skip(step, index)!,
        observed: "error",
        reason: `${(err as Error).message} (a node it needs died while it ran: ${why})`,
        startedAt: since,
      };
    }
  }

  /** Deaths not reported yet, one line each, for the scenario's report. */
  incidents(): string[] {
    const out: string[] = [];
    for (const [node, d] of this.deaths) {
      if (this.reported.has(node)) continue;
      this.reported.add(node);
      out.push(
        `node ${node}'s container died at ${clock(d.at)} (exit ${d.exitCode}); steps that need it failed`,
      );
    }
    return out;
  }

  stop(): void {
    this.watch.stop();
  }
}
