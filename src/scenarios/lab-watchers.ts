import { type ConntrackWatch, watchConntrack } from "../evidence/conntrack-source.ts";
import type { EventBus } from "../evidence/event-bus.ts";
import type { KernelLogWatch } from "../evidence/kernel-log-source.ts";
import { catchUp, type MarkerSender, type MarkerStream, markerPorts } from "../evidence/markers.ts";
import { type NflogSource, type NflogWatch, watchNflog } from "../evidence/nflog-source.ts";
import { type EveryPacketTrace, traceEveryPacket } from "../evidence/trace-every-packet.ts";
import type { LoadedRuleset } from "../firewall/load-ruleset.ts";
import { groupsIn } from "../firewall/nflog-groups.ts";
import { parseSave, type SavedTable } from "../firewall/parse-save.ts";
import type { StartedLab } from "../lab/started-lab.ts";
import type { NodeExec } from "../runtime/exec-result.ts";
import { Coalesced } from "../util/coalesced.ts";
import { WindowCapture } from "./window-capture.ts";

/** A node's commands, through whatever is cheapest (its probe agent). */
export type NodeRunner = (node: string) => NodeExec;

/**
 * A lab's evidence listeners for a whole run: conntrack, a capture and a packet trace per
 * firewall node, and NFLOG listeners that follow the groups the loaded rulesets use. Each
 * stream can be caught up with (markers.ts): a step's evidence is read once the streams have
 * delivered everything up to its end.
 */
export class LabWatchers {
  private readonly nflog = new Map<string, { groups: string; watch: NflogWatch }>();
  private readonly logPorts = markerPorts.cycle("logs");
  /** Every firewall's rules and counters; steps side by side share reads. */
  readonly counters = new Coalesced(() => this.readCounters());

  private constructor(
    private readonly lab: StartedLab,
    private readonly bus: EventBus,
    private readonly kernel: KernelLogWatch,
    private readonly run: NodeRunner,
    private readonly send: (node: string) => MarkerSender,
    private readonly conntrack: Map<string, ConntrackWatch>,
    readonly captures: Map<string, WindowCapture>,
    private readonly traces: Map<string, EveryPacketTrace>,
    private readonly nflogSource: NflogSource,
  ) {}

  static async start(
    lab: StartedLab,
    bus: EventBus,
    kernel: KernelLogWatch,
    run: NodeRunner,
    send: (node: string) => MarkerSender,
    nflogSource: NflogSource = watchNflog,
  ): Promise<LabWatchers> {
    const firewalls = lab.nodes.filter((n) => n.firewall).map((n) => n.name);
    const [conntrack, captures, traces] = await Promise.all([
      Promise.all(
        firewalls.map(async (n) => [n, await watchConntrack(lab, n, bus, { exec: run(n) })] as const),
      ),
      Promise.all(firewalls.map(async (n) => [n, await WindowCapture.start(lab, n)] as const)),
      Promise.all(firewalls.map(async (n) => [n, await traceEveryPacket(lab, n, bus, send(n))] as const)),
    ]);
    return new LabWatchers(
      lab,
      bus,
      kernel,
      run,
      send,
      new Map(conntrack),
      new Map(captures),
      new Map(traces),
      nflogSource,
    );
  }

  /** fwlab's own tables in a firewall node, for a ruleset load to put back (see fwlab-ruleset). */
  ownTables(node: string): string | undefined {
    return this.traces.get(node)?.ownTable();
  }

  /**
   * After a load that put fwlab's tables back and read the ruleset back (the cheap path: no
   * exec unless the NFLOG groups changed): trace lines renumbered, NFLOG listeners followed.
   */
  async rulesetLoaded(node: string, loaded: Pick<LoadedRuleset, "listing" | "nflogGroups">): Promise<void> {
    this.counters.forget();
    const trace = this.traces.get(node);
    if (!trace) return;
    await (loaded.listing ? trace.renumber(loaded.listing) : trace.refresh());
    await this.followNflogGroups(node, trace, loaded.nflogGroups);
  }

  /** After changes made some other way: trace table checked, lines renumbered, NFLOG followed. */
  async rulesetsChanged(): Promise<void> {
    this.counters.forget();
    await Promise.all(
      [...this.traces].map(async ([node, trace]) => {
        await trace.refresh();
        const save = await this.run(node)(["fwlab-ruleset", "save"]);
        await this.followNflogGroups(node, trace, groupsIn(save.stdout));
      }),
    );
  }

  /** Every firewall's trace lines up to now are in; false if one could not tell in time. */
  async syncTraces(): Promise<boolean> {
    const done = await Promise.all([...this.traces.values()].map((t) => t.sync()));
    await this.bus.delivered(); // the lines before the markers, to the runner's subscriptions too
    return done.every(Boolean);
  }

  /**
   * A node's LOG and NFLOG lines up to now are in: the streams that could not be caught up with
   * in time (none: all were).
   */
  async syncLogs(node: string): Promise<string[]> {
    const trace = this.traces.get(node);
    if (!trace) return ["its packet trace (not a firewall node)"];
    const nflog = this.nflog.get(node)?.watch;
    const streams: MarkerStream[] = [
      {
        name: "the kernel log (LOG)",
        wait: (sport, signal) => this.kernel.marker(trace.token, sport, signal),
      },
      ...(nflog
        ? [
            {
              name: `NFLOG group ${nflog.groups.join(", ")}`,
              wait: (sport: number, signal: AbortSignal) => nflog.marker(trace.token, sport, signal),
            },
          ]
        : []),
      { name: "the packet trace", wait: (sport, signal) => trace.marker(sport, signal) },
    ];
    const late = await catchUp(streams, this.send(node), this.logPorts);
    await this.bus.delivered();
    return late;
  }

  /** A node's conntrack events up to now are in. */
  async syncConntrack(node: string): Promise<boolean> {
    const w = this.conntrack.get(node);
    const done = w ? await w.sync() : false;
    await this.bus.delivered();
    return done;
  }

  /** (Re)starts a node's NFLOG listeners only when the groups its ruleset uses changed. */
  private async followNflogGroups(
    node: string,
    trace: EveryPacketTrace,
    groups: readonly number[],
  ): Promise<void> {
    const use = groups.length ? groups : [0];
    const key = use.join(",");
    const cur = this.nflog.get(node);
    if (cur?.groups !== key) {
      const watch = await this.nflogSource(this.lab, node, this.bus, use);
      await cur?.watch.stop(); // after the new one joined: a group both need keeps its listener
      this.nflog.set(node, { groups: key, watch });
    }
    await trace.logGroups(use);
  }

  private async readCounters(): Promise<Map<string, SavedTable[]>> {
    const out = new Map<string, SavedTable[]>();
    await Promise.all(
      [...this.traces.keys()].map(async (n) => {
        const r = await this.run(n)(["fwlab-ruleset", "save"]);
        out.set(n, parseSave(r.stdout)); // an nft ruleset has no iptables tables: []
      }),
    );
    return out;
  }

  async stop(): Promise<void> {
    await Promise.all(
      [
        ...this.conntrack.values(),
        ...this.captures.values(),
        ...this.traces.values(),
        ...[...this.nflog.values()].map((x) => x.watch),
      ].map((w) => w.stop().catch(() => {})),
    );
  }
}
