import { type ConntrackWatch, watchConntrack } from "../evidence/conntrack-source.ts";
import type { EventBus } from "../evidence/event-bus.ts";
import type { KernelLogWatch } from "../evidence/kernel-log-source.ts";
import { catchUp, type MarkerSender, type MarkerStream, markerPorts } from "../evidence/markers.ts";
import { type NflogSource, type NflogWatch, watchNflog } from "../evidence/nflog-source.ts";
import { type EveryPacketTrace, traceEveryPacket } from "../evidence/trace-every-packet.ts";
import type { LoadedRuleset } from "../firewall/load-ruleset.ts";
import { groupsIn } from "../firewall/nflog-groups.ts";
import { parseNftList } from "../firewall/parse-nft-list.ts";
import { parseSave } from "../firewall/parse-save.ts";
import type { StartedLab } from "../lab/started-lab.ts";
import type { NodeRunner } from "../runtime/exec-result.ts";
import { isBackend } from "../topology/compose-schema.ts";
import type { Backend } from "../topology/lab-spec.ts";
import { FirewallCounters } from "./firewall-counters.ts";
import { WindowCapture } from "./window-capture.ts";

// Prints the backend, then (iptables) both families' save with counters, as read after zeroing.
const CLEAN_SLATE = [
  "b=$(fwlab-ruleset backend)",
  '[ "$b" = nft ] || "$b" -Z',
  "conntrack -F 2>/dev/null",
  'echo "$b"',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the shell's own ${b#ip}
  '[ "$b" = nft ] || { "$b-save" -c; "ip6${b#ip}-save" -c; } 2>/dev/null',
  "true",
].join("; ");

/** What a load read back (a restore knows its backend only when the node's state file said one). */
export type RulesetReadBack = Pick<LoadedRuleset, "listing" | "nflogGroups"> & { readonly backend?: Backend };

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
  readonly counters: FirewallCounters;

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
  ) {
    this.counters = new FirewallCounters([...traces.keys()], run);
  }

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
  async rulesetLoaded(node: string, loaded: RulesetReadBack): Promise<void> {
    // iptables-nft's and nft's read-back is the new rules with their counters: the next probe's
    // reading before (a legacy load's listing has no iptables-nft tables to read).
    if (loaded.listing && loaded.backend === "iptables-nft")
      this.counters.known(node, loaded.backend, [
        ...parseSave(loaded.listing.iptablesSave),
        ...parseSave(loaded.listing.ip6tablesSave ?? "", "ipv6"),
      ]);
    else if (loaded.listing && loaded.backend === "nft")
      this.counters.known(node, loaded.backend, parseNftList(loaded.listing.nft));
    else this.counters.changed(node);
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

  /**
   * A scenario's clean slate in every firewall: counters zeroed (the filter table's, as
   * `iptables -Z` does), conntrack emptied. The same command reads the counters back, the first
   * probe's reading before.
   */
  async cleanSlate(): Promise<void> {
    await Promise.all(
      [...this.traces.keys()].map(async (n) => {
        const r = await this.run(n)(["sh", "-c", CLEAN_SLATE]);
        const [backend = "", ...save] = r.stdout.split("\n");
        if (r.exitCode === 0 && isBackend(backend))
          this.counters.known(n, backend, parseSave(save.join("\n")));
        else this.counters.changed(n);
      }),
    );
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
