import type { Hook } from "../util/netfilter-hooks.ts";
import type { TraceEvent } from "./events.ts";
import { hostPort } from "./format-event.ts";
import type { TraceConntrack, TracePacket } from "./parse-trace.ts";

/** One rule (or policy) a packet met on its way, where it met it. */
export interface WalkStep {
  readonly hook?: Hook;
  readonly table: string;
  readonly chain: string;
  /** Rule number in its chain; undefined for a policy. */
  readonly rule?: number;
  readonly ruleText: string;
  readonly verdict: string;
  /** Its conntrack state there (Linux 6.8+, after the conntrack hook). */
  readonly ct?: TraceConntrack;
  /** The NAT this rule did, as the next hook saw the packet ("dst 10.0.3.1:8080 -> 10.0.2.80:80"). */
  readonly rewrite?: string;
}

/** One packet's path through one node, from its trace events. */
export interface PacketWalk {
  readonly lab: string;
  readonly node: string;
  readonly packetId: string;
  /** The packet as it entered the node. */
  readonly packet?: TracePacket;
  readonly steps: readonly WalkStep[];
  /** The hooks it passed, in order. */
  readonly hooks: readonly Hook[];
  /** Where it went after PREROUTING: to the node itself, through it, or from it (OUTPUT). */
  readonly route?: "local" | "forward" | "output";
  /** dropped, accepted (by the last rule seen), forwarded or delivered (fwlab's own last chains). */
  readonly fate: "dropped" | "accepted" | "forwarded" | "delivered";
}

const endpoint = (p: TracePacket, side: "src" | "dst") =>
  hostPort(p[side], side === "src" ? p.sport : p.dport);

/** What changed between two views of one packet: "dst 10.0.3.1:8080 -> 10.0.2.80:80". */
export function rewriteOf(before: TracePacket, after: TracePacket): string | undefined {
  const changes = (["src", "dst"] as const)
    .filter((side) => endpoint(before, side) !== endpoint(after, side))
    .map((side) => `${side} ${endpoint(before, side)} -> ${endpoint(after, side)}`);
  return changes.length > 0 ? changes.join(", ") : undefined;
}

/**
 * The walk of one packet from its trace events on one node, in the order the node sent them.
 * A NAT rewrite is put on the nat-table rule before the first hook that saw the packet changed.
 */
export function walkOf(events: readonly TraceEvent[]): PacketWalk {
  const first = events[0];
  if (!first) throw new Error("walkOf: a walk needs at least one trace event");
  const steps: WalkStep[] = [];
  const hooks: Hook[] = [];
  let last: TracePacket | undefined = first.packet;
  let fate: PacketWalk["fate"] = "accepted";
  let pending: string | undefined;
  for (const e of events) {
    if (e.seen && last) {
      const change = rewriteOf(last, e.seen);
      if (change) {
        // The nat rule that did it: the last rule matched in a nat chain before this event.
        let at = -1;
        for (let i = steps.length - 1; i >= 0; i--)
          if (steps[i]?.table === "nat" && steps[i]?.rule !== undefined) {
            at = i;
            break;
          }
        // No nat rule saw this packet: conntrack applied the NAT its connection's first packet set up.
        const how = at < 0 ? `${change} (by conntrack, as the connection's first packet set up)` : change;
        if (at < 0) at = steps.length - 1;
        const s = steps[at];
        if (s) steps[at] = { ...s, rewrite: s.rewrite ? `${s.rewrite}, ${how}` : how };
        else pending = how; // before this node's first step: it goes on that step
      }
    }
    if (e.seen) last = e.seen;
    if (e.hook && hooks.at(-1) !== e.hook) hooks.push(e.hook);
    if (e.passed) {
      fate = e.passed;
      continue;
    }
    steps.push({
      rewrite: pending,
      hook: e.hook,
      table: e.table,
      chain: e.chain,
      rule: e.rule,
      ruleText: e.ruleText,
      verdict: e.verdict,
      ct: e.ct,
    });
    pending = undefined;
    if (e.verdict === "DROP") fate = "dropped";
  }
  const route = hooks.includes("FORWARD")
    ? "forward"
    : hooks.includes("INPUT")
      ? "local"
      : hooks.includes("OUTPUT")
        ? "output"
        : undefined;
  return {
    lab: first.lab,
    node: first.node,
    packetId: first.packetId,
    packet: first.packet,
    steps,
    hooks,
    route,
    fate,
  };
}

/** A packet meets the hooks in this order: an event at an earlier one is another packet's. */
const RANK: Readonly<Record<Hook, number>> = {
  PREROUTING: 0,
  INPUT: 1,
  FORWARD: 1,
  OUTPUT: 0,
  POSTROUTING: 2,
};
const backwards = (from: Hook | undefined, to: Hook | undefined) =>
  from !== undefined && to !== undefined && (RANK[to] < RANK[from] || (from === "INPUT" && to === "OUTPUT"));

/**
 * Groups a stream of trace events into walks, one per packet and node. A walk is complete
 * when its packet was dropped or got through (fwlab's own last chains say so); otherwise when
 * no event of it came for `idleMs` (a packet id is reused by later packets: a long-idle id is
 * a new packet).
 */
export class WalkCollector {
  private readonly open = new Map<string, { events: TraceEvent[]; first: number; last: number }>();
  /** Complete walks that wait for an earlier packet's walk to complete: walks go out in order. */
  private readonly ready: { walk: PacketWalk; first: number }[] = [];
  private seq = 0;

  constructor(private readonly idleMs = 500) {}

  /**
   * Adds an event; returns the walks now complete, in the order their packets arrived: this
   * packet's if it ended here, or (its id now naming a later packet) the earlier one's.
   */
  add(e: TraceEvent, now = e.time): PacketWalk[] {
    const key = `${e.lab}/${e.node}/${e.packetId}`;
    const w = this.open.get(key);
    if (w && (now - w.last > this.idleMs || e.start || backwards(w.events.at(-1)?.hook, e.hook)))
      this.finish(key);
    const cur = this.open.get(key) ?? { events: [], first: this.seq++, last: now };
    cur.events.push(e);
    cur.last = now;
    this.open.set(key, cur);
    if (e.passed || e.verdict === "DROP") this.finish(key);
    return this.release();
  }

  /** Walks nothing was added to for `idleMs` (all of them with `all`), with those they held up. */
  flush(now: number, all = false): PacketWalk[] {
    for (const [key, w] of this.open) if (all || now - w.last > this.idleMs) this.finish(key);
    return this.release();
  }

  private finish(key: string): void {
    const w = this.open.get(key);
    if (!w) return;
    this.open.delete(key);
    this.ready.push({ walk: walkOf(w.events), first: w.first });
  }

  private release(): PacketWalk[] {
    const oldestOpen = Math.min(...[...this.open.values()].map((w) => w.first));
    this.ready.sort((a, b) => a.first - b.first);
    const n = this.ready.findIndex((r) => r.first > oldestOpen);
    return this.ready.splice(0, n < 0 ? this.ready.length : n).map((r) => r.walk);
  }
}

const describePacket = (p: TracePacket) => {
  const what =
    p.proto === "other"
      ? p.icmpType !== undefined
        ? `ICMP type ${p.icmpType}`
        : "packet"
      : p.proto.toUpperCase();
  const flags = p.flags.length > 0 ? ` [${p.flags.join(",")}]` : "";
  return `${what} ${endpoint(p, "src")} -> ${endpoint(p, "dst")}${flags}${p.in ? ` in ${p.in}` : ""}`;
};

const ROUTE: Record<NonNullable<PacketWalk["route"]>, string> = {
  local: "routing decision: for this node -> INPUT",
  forward: "routing decision: for another host -> FORWARD",
  output: "sent by this node itself -> OUTPUT, routing decision",
};

const FATE: Record<PacketWalk["fate"], string> = {
  dropped: "DROPPED",
  accepted: "ACCEPTED",
  forwarded: "FORWARDED (left the node)",
  delivered: "DELIVERED to the node itself",
};

/**
 * A walk as text, hook by hook: every rule it met (table, chain, number, text), its conntrack
 * state there, NAT rewrites where they happened, and its fate. `fwlab trace --explain` prints it.
 */
export function explainWalk(w: PacketWalk): string {
  const out = [
    `${w.lab}/${w.node} packet ${w.packetId}: ${w.packet ? describePacket(w.packet) : "(headers not seen)"}`,
  ];
  let hook: Hook | undefined;
  for (const s of w.steps) {
    if (s.hook !== hook) {
      if (hook === "PREROUTING" && w.route && w.route !== "output") out.push(`  -- ${ROUTE[w.route]}`);
      hook = s.hook;
      out.push(`  ${hook ?? "(hook unknown)"}`);
      if (hook === "OUTPUT" && w.route === "output") out.push(`  -- ${ROUTE.output}`);
    }
    const where = `${s.table} ${s.chain} ${s.rule === undefined ? "policy" : `rule ${s.rule}`}`;
    const ct = s.ct ? `  [ct ${s.ct.state}${s.ct.dir === "reply" ? ", reply" : ""}]` : "";
    out.push(
      `    ${where.padEnd(28)} ${s.verdict.padEnd(8)} ${s.rule === undefined ? "" : s.ruleText}${ct}`.trimEnd(),
    );
    if (s.rewrite) out.push(`      NAT: ${s.rewrite}`);
  }
  out.push(`  => ${FATE[w.fate]}${w.hooks.length > 0 ? ` (hooks: ${w.hooks.join(" -> ")})` : ""}`);
  return out.join("\n");
}
