import type { StartedLab } from "../lab/started-lab.ts";
import type { EventBus } from "./event-bus.ts";
import { supervise } from "./supervise.ts";
import { followTrace, type TraceMonitor } from "./trace-monitor.ts";

/** fwlab's own nft table: it only marks packets for tracing and never decides their fate. */
export const TRACE_TABLE = "fwlab_trace";

// Before conntrack (-200) and every iptables table, so a packet is traced from the moment it
// arrives. The rate limit keeps a flood from burying the monitor: beyond it packets go
// untraced and probes fall back to their own timeouts.
const TABLE = `table ip ${TRACE_TABLE} {
  chain pre { type filter hook prerouting priority -350; policy accept; limit rate 2000/second burst 500 packets meta nftrace set 1; }
  chain out { type filter hook output priority -350; policy accept; limit rate 2000/second burst 500 packets meta nftrace set 1; }
}`;

export interface EveryPacketTrace {
  /** Puts the tracing table back if a ruleset load flushed it, and renumbers rules. */
  refresh(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Traces every packet a firewall node sees (iptables-nft rulesets: trace lines name the rule
 * and its verdict), so a scenario step can show its packets' paths and a dropped probe can be
 * told "dropped by FORWARD policy DROP" at once instead of waiting for its timeout. The user's
 * tables are untouched: marking happens in fwlab's own table, which `stop()` deletes; a table
 * a killed fwlab left behind is replaced on the next start.
 */
export async function traceEveryPacket(
  lab: StartedLab,
  node: string,
  bus: EventBus,
): Promise<EveryPacketTrace> {
  const install = async () => {
    const r = await lab.exec(node, ["sh", "-c", `nft delete table ip ${TRACE_TABLE} 2>/dev/null; nft -f -`], {
      stdin: TABLE,
    });
    if (r.exitCode !== 0) throw new Error(`[${node}] nft could not add the trace table: ${r.stderr.trim()}`);
  };
  await install();
  let monitor!: TraceMonitor;
  const watch = await supervise(
    { lab: lab.name, node, source: "trace", name: "the packet trace (xtables-monitor)" },
    bus,
    async () => {
      monitor = await followTrace(lab, node, bus, (table) => table === TRACE_TABLE);
      return monitor;
    },
  );
  return {
    refresh: async () => {
      const r = await lab.exec(node, ["nft", "list", "table", "ip", TRACE_TABLE]);
      if (r.exitCode !== 0) await install();
      await monitor.renumber();
    },
    stop: async () => {
      await watch.stop();
      await lab.exec(node, ["nft", "delete", "table", "ip", TRACE_TABLE]).catch(() => {});
    },
  };
}
