import { parseSave, type SavedTable } from "../firewall/parse-save.ts";
import type { StartedLab } from "../lab/started-lab.ts";
import type { EventBus } from "./event-bus.ts";
import { eachLine } from "./line-reader.ts";
import { parseTraceLine, parseTracePacket, type TracePacket } from "./parse-trace.ts";

export interface TraceMonitor {
  /** Re-reads the ruleset that trace lines are numbered against (after a ruleset load). */
  renumber(): Promise<void>;
  readonly ended: Promise<void>;
  stop(): Promise<void>;
}

/**
 * Follows `xtables-monitor --trace` in a node and publishes each rule a traced packet passes,
 * numbered as `iptables -L --line-numbers` would (trace lines carry nft handles, not numbers),
 * with the packet as it entered the node. Lines for which `ownRule` is true (fwlab's own
 * tracing rules) are not the user's and are left out.
 */
export async function followTrace(
  lab: StartedLab,
  node: string,
  bus: EventBus,
  ownRule: (table: string, spec: string) => boolean,
): Promise<TraceMonitor> {
  let rules: SavedTable[] = [];
  const renumber = async () => {
    rules = parseSave((await lab.exec(node, ["iptables-nft-save"])).stdout);
  };
  await renumber();
  const numberOf = (table: string, chain: string, spec: string) =>
    rules
      .find((t) => t.name === table)
      ?.chains.find((c) => c.name === chain)
      ?.rules.find((r) => r.spec === spec)?.num;
  // The first PACKET line of a packet id is where it entered this node; ids are reused by the
  // kernel only much later, so a small bounded map is enough.
  const packets = new Map<string, TracePacket>();
  const stream = await lab.execStream(node, ["xtables-monitor", "--trace"]);
  eachLine(stream.stdout, (line) => {
    if (line.startsWith("PACKET:")) {
      const p = parseTracePacket(line);
      if (p && !packets.has(p.packetId)) {
        packets.set(p.packetId, p);
        if (packets.size > 4096) packets.delete(packets.keys().next().value!);
      }
      return;
    }
    const t = parseTraceLine(line);
    if (!t || ownRule(t.table, t.spec)) return;
    bus.publish({
      kind: "trace",
      lab: lab.name,
      node,
      packetId: t.packetId,
      table: t.table,
      chain: t.chain,
      rule: t.what === "rule" ? numberOf(t.table, t.chain, t.spec) : undefined,
      verdict: t.verdict,
      ruleText: t.what === "rule" ? `-A ${t.chain} ${t.spec}` : `${t.what} ${t.verdict}`,
      packet: packets.get(t.packetId),
      time: Date.now(),
    });
  });
  return { renumber, ended: stream.ended, stop: () => stream.stop() };
}
