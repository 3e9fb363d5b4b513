import { randomBytes } from "node:crypto";
import type { RulesetListing } from "../firewall/rule-handles.ts";
import { TRACE_TABLE } from "../firewall/trace-table.ts";
import type { StartedLab } from "../lab/started-lab.ts";
import type { EventBus } from "./event-bus.ts";
import { catchUp, MARKER, type MarkerSender, MarkerWaits, markerPorts } from "./markers.ts";
import type { TraceLine, TracePacket } from "./parse-trace.ts";
import { supervise } from "./supervise.ts";
import { followTrace, type TraceMonitor } from "./trace-monitor.ts";

/**
 * The table, for a node whose log markers carry `token`:
 *  - pre, out (first of all hooks, before conntrack): every packet is marked for tracing. The
 *    rate limit keeps a flood from burying the monitor: beyond it packets go untraced and probes
 *    fall back to their own timeouts.
 *  - forwarded, delivered (last of all hooks, after every table of either iptables backend):
 *    a traced packet that reaches them got through the node; their policy line says so.
 *  - markers: fwlab's own datagrams to 127.0.0.1:9 from its marker ports are traced (and, for
 *    the log range, logged to the kernel log and every NFLOG group in use), then dropped before
 *    any user chain or conntrack sees them. A marker's line arriving means every line before it
 *    has (see markers.ts).
 */
function table(token: string, nflogGroups: readonly number[]): string {
  const logs = [
    `log prefix "${MARKER} ${token} "`,
    ...nflogGroups.map((g) => `log group ${g} prefix "${MARKER} ${token}"`),
  ].join(" ");
  const mark = (ports: string, chain: string) =>
    `ip daddr 127.0.0.1 udp dport ${MARKER_DPORT} udp sport ${ports} jump ${chain}`;
  return `table inet ${TRACE_TABLE} {
  chain trace_marker { meta nftrace set 1 drop; }
  chain log_marker { meta nftrace set 1 ${logs} drop; }
  chain pre { type filter hook prerouting priority -350; policy accept; limit rate 2000/second burst 500 packets meta nftrace set 1; }
  chain out {
    type filter hook output priority -350; policy accept;
    ${mark(markerPorts.trace, "trace_marker")}
    ${mark(markerPorts.logs, "log_marker")}
    limit rate 2000/second burst 500 packets meta nftrace set 1;
  }
  chain forwarded { type filter hook postrouting priority 10000; policy accept; }
  chain delivered { type filter hook input priority 10000; policy accept; }
}`;
}

const MARKER_DPORT = 9;

export interface EveryPacketTrace {
  /** The token the node's log markers carry ("fwlab-sync TOKEN"). */
  readonly token: string;
  /** The table as an `nft -f` document that replaces it: a ruleset load puts it back with this. */
  ownTable(): string;
  /** Puts the tracing table back if a ruleset load flushed it, and renumbers rules. */
  refresh(): Promise<void>;
  /** Numbers trace lines against a ruleset a load read back (no exec). */
  renumber(listing: RulesetListing): Promise<void>;
  /**
   * Resolves once every trace line of a packet this node saw before the call was published:
   * true, or false if the trace could not be caught up with in time (markers.ts).
   */
  sync(): Promise<boolean>;
  /** Waits for the trace of the marker sent from `sport` (a log marker's, say). */
  marker(sport: number, signal?: AbortSignal): Promise<void>;
  /** The NFLOG groups log markers go to (those the node's ruleset uses). */
  logGroups(groups: readonly number[]): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Traces every packet a firewall node sees, so a scenario step can show its packets' paths, a
 * dropped probe can be told "dropped by FORWARD policy DROP" at once instead of waiting for its
 * timeout, and a probe whose packet the firewall passed on knows its answer is in flight. The
 * user's tables are untouched: marking happens in fwlab's own table, which `stop()` deletes; a
 * table a killed fwlab left behind is replaced on the next start.
 */
export async function traceEveryPacket(
  lab: StartedLab,
  node: string,
  bus: EventBus,
  send: MarkerSender,
): Promise<EveryPacketTrace> {
  const token = randomBytes(4).toString("hex");
  let groups: readonly number[] = [];
  // One transaction: the table is replaced, never absent (no packet goes untraced meanwhile).
  const ownTable = () =>
    `table inet ${TRACE_TABLE} {}\ndelete table inet ${TRACE_TABLE}\n${table(token, groups)}\n`;
  const install = async () => {
    const r = await lab.exec(node, ["nft", "-f", "-"], { stdin: ownTable() });
    if (r.exitCode !== 0) throw new Error(`[${node}] nft could not add the trace table: ${r.stderr.trim()}`);
  };
  await install();
  const waiting = new MarkerWaits();
  const onOwn = (t: TraceLine, p: TracePacket | undefined) => {
    if (t.chain === "forwarded" || t.chain === "delivered") {
      bus.publish({
        kind: "trace",
        lab: lab.name,
        node,
        packetId: t.packetId,
        table: t.table,
        chain: t.chain,
        verdict: "ACCEPT",
        ruleText:
          t.chain === "forwarded" ? `passed: ${node} sent it on` : `passed: delivered to ${node} itself`,
        packet: p,
        passed: t.chain,
        time: Date.now(),
      });
    } else if (t.chain.endsWith("_marker") && p?.dst === "127.0.0.1" && p.sport !== undefined) {
      waiting.arrived(String(p.sport));
    }
  };
  let monitor!: TraceMonitor;
  const watch = await supervise(
    { lab: lab.name, node, source: "trace", name: "the packet trace (xtables-monitor)" },
    bus,
    async () => {
      monitor = await followTrace(lab, node, bus, {
        rule: (t) => t.table === TRACE_TABLE,
        // The chains that set nftrace: a packet's first traced line is in one of them.
        start: (t) =>
          t.table === TRACE_TABLE && ["pre", "out", "trace_marker", "log_marker"].includes(t.chain),
        line: onOwn,
      });
      return monitor;
    },
  );
  const nextPort = markerPorts.cycle("trace");
  const marker = (sport: number, signal?: AbortSignal) => waiting.wait(String(sport), signal);
  return {
    token,
    ownTable,
    renumber: (listing) => monitor.renumber(listing),
    refresh: async () => {
      const r = await lab.exec(node, ["nft", "list", "table", "inet", TRACE_TABLE]);
      if (r.exitCode !== 0) await install();
      await monitor.renumber();
    },
    sync: async () =>
      (await catchUp([{ name: "the packet trace", wait: marker }], send, nextPort)).length === 0,
    marker,
    logGroups: async (g) => {
      if (g.join() === groups.join()) return;
      groups = [...g];
      await install();
    },
    stop: async () => {
      await watch.stop();
      await lab.exec(node, ["nft", "delete", "table", "inet", TRACE_TABLE]).catch(() => {});
    },
  };
}
