import {
  chainHooks,
  handleKey,
  parseListing,
  type RuleHandles,
  type RulesetListing,
  ruleHandles,
} from "../firewall/rule-handles.ts";
import type { StartedLab } from "../lab/started-lab.ts";
import { eachLine } from "../util/each-line.ts";
import type { Hook } from "../util/netfilter-hooks.ts";
import type { EventBus } from "./event-bus.ts";
import { parseTraceLine, type TraceConntrack, type TraceLine, type TracePacket } from "./parse-trace.ts";

export interface TraceMonitor {
  /**
   * Numbers trace events against the ruleset now loaded: the listing a load read back, or
   * (without one) read from the node.
   */
  renumber(listing?: RulesetListing): Promise<void>;
  readonly ended: Promise<void>;
  stop(): Promise<void>;
}

/**
 * Follows a node's nftables trace events (images/common/usr/local/lib/fwlab/nftrace) and
 * publishes each rule a traced packet passes, numbered and written as `iptables -L
 * --line-numbers` and iptables-save would (events carry nft handles), with the packet as it
 * entered the node. Events of fwlab's own tracing rules (`own.rule`) are not the user's: they
 * go to `own.line` instead of the bus. An overflow of the trace socket is published as a loss.
 */
export async function followTrace(
  lab: StartedLab,
  node: string,
  bus: EventBus,
  own: {
    rule(line: TraceLine, text: string): boolean;
    /** The own rule that marks a packet for tracing: the first event of every traced packet. */
    start(line: TraceLine, text: string): boolean;
    line?(line: TraceLine, packet: TracePacket | undefined): void;
  },
): Promise<TraceMonitor> {
  let rules: RuleHandles = new Map();
  let hooks: ReadonlyMap<string, Hook> = new Map();
  const renumber = async (listing?: RulesetListing) => {
    const l =
      listing ??
      parseListing(
        (
          await lab.exec(node, [
            "sh",
            "-c",
            "nft -a list ruleset 2>/dev/null; echo '#fwlab#'; iptables-nft-save 2>/dev/null; echo '#fwlab6#'; ip6tables-nft-save 2>/dev/null",
          ])
        ).stdout,
      );
    rules = ruleHandles(l.nft, l.iptablesSave, l.ip6tablesSave);
    hooks = chainHooks(l.nft);
  };
  // The hook a packet is at: a base chain's own, kept for the user chains it jumps to.
  const atHook = new Map<string, Hook>();
  const carried = new Map<string, { seen?: TracePacket; ct?: TraceConntrack }>();
  // Packets whose trace just began (their next event is the first of a new walk).
  const starting = new Set<string>();
  await renumber();
  // A packet id is a hash of the kernel's packet buffer, soon reused by another packet: the
  // packet of the event that marks it for tracing is where this one entered the node (the
  // packet of its later hooks is shown after NAT).
  const latest = new Map<string, TracePacket>();
  const entered = new Map<string, TracePacket>();
  const remember = (m: Map<string, TracePacket>, p: TracePacket) => {
    m.set(p.packetId, p);
    if (m.size > 4096) m.delete(m.keys().next().value!);
  };
  const stream = await lab.execStream(node, ["/usr/local/lib/fwlab/nftrace"]);
  let ready!: () => void;
  const isReady = new Promise<void>((r) => {
    ready = r;
  });
  eachLine(stream.stdout, (line) => {
    if (line === "ready") return ready();
    if (line.startsWith("lost ")) {
      bus.publish({
        kind: "loss",
        lab: lab.name,
        node,
        source: "trace",
        reason: `[${node}] the packet trace socket overflowed: some packets' traces were lost`,
        time: Date.now(),
      });
      return;
    }
    const t = parseTraceLine(line);
    if (!t) return;
    if (t.packet) remember(latest, t.packet);
    const base = hooks.get(`${t.family} ${t.table} ${t.chain}`);
    if (base) {
      atHook.set(t.packetId, base);
      if (atHook.size > 4096) atHook.delete(atHook.keys().next().value!);
    }
    const hook = base ?? atHook.get(t.packetId);
    const rule = t.what === "rule" ? rules.get(handleKey(t.family, t.table, t.chain, t.handle)) : undefined;
    const text = rule?.text ?? "";
    if (own.start(t, text)) {
      const p = latest.get(t.packetId);
      if (p) remember(entered, p);
      starting.add(t.packetId);
    }
    const packet = entered.get(t.packetId) ?? latest.get(t.packetId);
    if (own.rule(t, text)) {
      // A chain of fwlab's own without rules (forwarded, delivered) traces the kernel's "no rule
      // matched" event and then its policy: one line for the packet, from the policy.
      if (t.what === "rule" && t.handle === 0) return;
      return own.line?.(t, packet);
    }
    // The kernel's "no rule matched, on to the policy" event (a rule event without a rule): not
    // a rule of the ruleset. What it saw of the packet goes with the policy event after it.
    if (t.what === "rule" && t.handle === 0) {
      if (t.packet || t.ct) carried.set(t.packetId, { seen: t.packet, ct: t.ct });
      if (carried.size > 4096) carried.delete(carried.keys().next().value!);
      return;
    }
    const carry = carried.get(t.packetId);
    carried.delete(t.packetId);
    bus.publish({
      kind: "trace",
      lab: lab.name,
      node,
      packetId: t.packetId,
      table: t.table,
      chain: t.chain,
      rule: rule?.num,
      verdict: t.verdict,
      ruleText: t.what === "rule" ? (rule?.text ?? `handle ${t.handle}`) : `${t.what} ${t.verdict}`,
      packet,
      hook,
      start: starting.delete(t.packetId) || undefined,
      seen: t.packet ?? carry?.seen,
      ct: t.ct ?? carry?.ct,
      time: Date.now(),
    });
  });
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    isReady,
    stream.ended.then(() => {
      throw new Error(`[${node}] the packet trace reader ended before it listened`);
    }),
    new Promise((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`[${node}] the packet trace reader did not start within 15 s`)),
        15_000,
      );
    }),
  ])
    .catch(async (err: unknown) => {
      await stream.stop();
      throw err;
    })
    .finally(() => clearTimeout(timer));
  return { renumber, ended: stream.ended, stop: () => stream.stop() };
}
