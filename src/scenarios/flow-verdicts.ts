import type { EventBus, Subscription } from "../evidence/event-bus.ts";
import type { TraceEvent } from "../evidence/events.ts";
import type { TracePacket } from "../evidence/parse-trace.ts";
import type { ProbeFlow } from "../probes/probe-agent.ts";

/** A probe's flow as the firewall will see it: from one of its node's addresses. */
export interface WatchedFlow extends ProbeFlow {
  readonly lab: string;
  /** The node the probe runs in: its own OUTPUT drops reach it as an error, not a silence. */
  readonly fromNode: string;
  readonly src: readonly string[];
}

/** What the firewalls' traces say about one flow. */
export interface FlowWatch {
  /** Resolves with the trace line of the firewall that dropped the flow's first packet (or its answer). */
  readonly dropped: Promise<TraceEvent>;
  /** The first line of a firewall that passed one of the flow's packets on (forwarded, or took it in). */
  passed(): TraceEvent | undefined;
  /** The first line of any firewall that traced one of the flow's packets. */
  seen(): TraceEvent | undefined;
  /** The line of a firewall that rejected one of the flow's packets (its answer is an error). */
  rejected(): TraceEvent | undefined;
  close(): void;
}

// REJECT is a drop too in a trace (the reset or ICMP error it sends is the probe's answer):
// only a DROP target (iptables) or a drop statement (nft), or a DROP policy, is silence.
export const dropsPacket = (e: TraceEvent): boolean =>
  e.verdict === "DROP" &&
  (e.rule === undefined
    ? e.ruleText === "policy DROP"
    : /\s-j DROP\b/.test(e.ruleText) || /(^|\s)drop$/.test(e.ruleText));

/** Where a firewall dropped (or rejected) a packet: "filter FORWARD rule 6", "filter forward policy DROP". */
export const dropSite = (e: TraceEvent): string =>
  e.rule === undefined ? `${e.table} ${e.chain} policy DROP` : `${e.table} ${e.chain} rule ${e.rule}`;

/** Does a traced packet belong to this flow (either direction)? Unless `anyPacket`, only packets
 * that decide count: for TCP the SYN and SYN-ACK, so a FIN dropped after the answer does not. */
export function packetOf(flow: WatchedFlow, p: TracePacket, anyPacket = false): boolean {
  if (errorAbout(flow, p)) return true;
  // An error about a TCP or UDP packet is no answer to a ping between the same two hosts.
  if (flow.proto === "icmp" && (p.about === "tcp" || p.about === "udp")) return false;
  const proto = flow.proto === "icmp" ? "other" : flow.proto;
  if (p.proto !== proto) return false;
  if (flow.proto === "tcp" && !anyPacket && !p.flags.includes("SYN")) return false;
  const forward =
    flow.src.includes(p.src) &&
    p.dst === flow.dst &&
    (flow.sport === undefined || p.sport === flow.sport) &&
    (flow.dport === undefined || p.dport === flow.dport);
  // An answer to a client a firewall masqueraded enters that firewall addressed to it, from the
  // port the probe asked to the probe's own source port (fwlab's range, one flow's alone): both
  // ports tell it, whatever address it goes to.
  const toClient = flow.src.includes(p.dst) || (flow.sport !== undefined && flow.dport !== undefined);
  const reply =
    toClient &&
    p.src === flow.dst &&
    (flow.sport === undefined || p.dport === flow.sport) &&
    (flow.dport === undefined || p.sport === flow.dport);
  return forward || reply;
}

/**
 * Is the packet an ICMP error the flow's destination sends back about it (a closed UDP port's
 * "port unreachable")? That is the flow's answer as much as a reply is: dropped, the client hears
 * nothing. The error quotes the flow's protocol but not its ports (the trace has 20 bytes of it),
 * so it cannot tell two such flows apart: FlowVerdicts decides on it only for a flow alone.
 */
export const errorAbout = (flow: WatchedFlow, p: TracePacket): boolean =>
  p.about !== undefined && p.about === flow.proto && p.src === flow.dst && flow.src.includes(p.dst);

const collide = (a: WatchedFlow, b: WatchedFlow) =>
  a.lab === b.lab &&
  a.proto === b.proto &&
  a.dst === b.dst &&
  a.sport === b.sport &&
  a.dport === b.dport &&
  a.src.some((s) => b.src.includes(s));

interface Watch {
  readonly flow: WatchedFlow;
  readonly since: number;
  ambiguous: boolean;
  seen?: TraceEvent;
  passed?: TraceEvent;
  rejected?: TraceEvent;
  resolve(e: TraceEvent): void;
}

// Trace lines can reach fwlab before the agent's line announcing the flow they belong to (two
// streams from two containers): a watch looks back this far when it starts.
const HISTORY_MS = 10_000;

/**
 * What the firewalls' traces say about each probe's flows. A dropped first packet decides
 * `timeout` at once, naming the rule; a packet a firewall passed on means its answer is in
 * flight. Each probe watches its own flows (its own source ports where it has them); two
 * probes in flight whose flows cannot be told apart (two pings between the same pair) get no
 * drop verdicts, rather than risk taking each other's evidence.
 */
export class FlowVerdicts {
  private readonly watches = new Set<Watch>();
  private readonly subscription: Subscription;
  private history: TraceEvent[] = [];

  constructor(bus: EventBus) {
    this.subscription = bus.subscribe(
      (e) => this.onTrace(e as TraceEvent),
      (e) => e.kind === "trace" && !!e.packet,
    );
  }

  /** Watches a flow's packets traced since `since` (ms since the epoch: when its probe started). */
  watch(flow: WatchedFlow, since: number): FlowWatch {
    let resolve!: (e: TraceEvent) => void;
    const dropped = new Promise<TraceEvent>((r) => {
      resolve = r;
    });
    const w: Watch = { flow, since, ambiguous: false, resolve };
    for (const other of this.watches) {
      if (collide(other.flow, flow)) {
        other.ambiguous = true;
        w.ambiguous = true;
      }
    }
    this.watches.add(w);
    for (const e of this.history) this.apply(w, e);
    return {
      dropped,
      passed: () => w.passed,
      seen: () => w.seen,
      rejected: () => w.rejected,
      close: () => this.watches.delete(w),
    };
  }

  close(): void {
    this.subscription.close();
    this.watches.clear();
    this.history = [];
  }

  private onTrace(e: TraceEvent): void {
    this.history.push(e);
    if (this.history[0]!.time < e.time - HISTORY_MS)
      this.history = this.history.filter((h) => h.time >= e.time - HISTORY_MS);
    for (const w of this.watches) this.apply(w, e);
  }

  /** Another flow in flight that an ICMP error about `w`'s could be about just as well. */
  private twinOf(w: Watch): boolean {
    const f = w.flow;
    for (const o of this.watches)
      if (
        o !== w &&
        o.flow.lab === f.lab &&
        o.flow.proto === f.proto &&
        o.flow.dst === f.dst &&
        o.flow.src.some((s) => f.src.includes(s))
      )
        return true;
    // A flow whose probe has not said it yet (or is decided already) shows in the traces: a
    // packet of the protocol between the same hosts on other ports since this probe started.
    return this.history.some(
      (e) =>
        e.lab === f.lab &&
        e.time >= w.since &&
        e.packet!.proto === f.proto &&
        e.packet!.dst === f.dst &&
        f.src.includes(e.packet!.src) &&
        ((f.sport !== undefined && e.packet!.sport !== f.sport) ||
          (f.dport !== undefined && e.packet!.dport !== f.dport)),
    );
  }

  private apply(w: Watch, e: TraceEvent): void {
    if (e.lab !== w.flow.lab || e.time < w.since || !packetOf(w.flow, e.packet!, true)) return;
    w.seen ??= e;
    if (e.passed) w.passed ??= e;
    if (e.verdict === "DROP" && !dropsPacket(e)) w.rejected ??= e;
    if (w.ambiguous || !dropsPacket(e) || !packetOf(w.flow, e.packet!)) return;
    if (e.node === w.flow.fromNode && e.chain === "OUTPUT") return;
    if (errorAbout(w.flow, e.packet!) && this.twinOf(w)) return;
    this.watches.delete(w);
    w.resolve(e);
  }
}
