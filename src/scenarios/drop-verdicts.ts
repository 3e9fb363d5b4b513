import type { EventBus } from "../evidence/event-bus.ts";
import type { TraceEvent } from "../evidence/events.ts";
import type { TracePacket } from "../evidence/parse-trace.ts";
import type { ProbeFlow } from "../probes/probe.ts";

/** A probe's flow as the firewall will see it: from one of its node's addresses. */
export interface WatchedFlow extends ProbeFlow {
  readonly lab: string;
  /** The node the probe runs in: its own OUTPUT drops reach it as an error, not a silence. */
  readonly fromNode: string;
  readonly src: readonly string[];
}

export interface DropWatch {
  /** Resolves with the firewall's trace line that dropped the flow's packet; never rejects. */
  readonly dropped: Promise<TraceEvent>;
  close(): void;
}

const dropsPacket = (e: TraceEvent) =>
  e.verdict === "DROP" &&
  (e.rule === undefined ? e.ruleText === "policy DROP" : /\s-j DROP\b/.test(e.ruleText));

/** Does a traced packet belong to this flow (either direction)? Unless `anyPacket`, only packets
 * that decide count: for TCP the SYN and SYN-ACK, so a FIN dropped after the answer does not. */
export function packetOf(flow: WatchedFlow, p: TracePacket, anyPacket = false): boolean {
  const proto = flow.proto === "icmp" ? "other" : flow.proto;
  if (p.proto !== proto) return false;
  if (flow.proto === "tcp" && !anyPacket && !p.flags.includes("SYN")) return false;
  const forward =
    flow.src.includes(p.src) &&
    p.dst === flow.dst &&
    (flow.sport === undefined || p.sport === flow.sport) &&
    (flow.dport === undefined || p.dport === flow.dport);
  const reply =
    flow.src.includes(p.dst) &&
    p.src === flow.dst &&
    (flow.sport === undefined || p.dport === flow.sport) &&
    (flow.dport === undefined || p.sport === flow.dport);
  return forward || reply;
}

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
  resolve(e: TraceEvent): void;
}

/**
 * Fast verdicts for dropped probes: a firewall's trace shows the rule or policy that dropped a
 * probe's packet within milliseconds, so the probe need not wait for its timeout. Each probe
 * watches its own flow (its own source port where it has one); two probes in flight whose
 * flows cannot be told apart (two pings between the same pair) both fall back to timeouts
 * rather than risk taking each other's evidence.
 */
export class DropVerdicts {
  private readonly watches = new Set<Watch>();
  private readonly subscription: { close(): void };

  constructor(bus: EventBus) {
    this.subscription = bus.subscribe(
      (e) => this.onDrop(e as TraceEvent, (e as TraceEvent).packet!),
      (e) => e.kind === "trace" && !!e.packet && dropsPacket(e),
    );
  }

  watch(flow: WatchedFlow): DropWatch {
    let resolve!: (e: TraceEvent) => void;
    const dropped = new Promise<TraceEvent>((r) => {
      resolve = r;
    });
    const w: Watch = { flow, since: Date.now(), ambiguous: false, resolve };
    for (const other of this.watches) {
      if (collide(other.flow, flow)) {
        other.ambiguous = true;
        w.ambiguous = true;
      }
    }
    this.watches.add(w);
    return { dropped, close: () => this.watches.delete(w) };
  }

  close(): void {
    this.subscription.close();
    this.watches.clear();
  }

  private onDrop(e: TraceEvent, p: TracePacket): void {
    for (const w of this.watches) {
      if (w.ambiguous || e.lab !== w.flow.lab || e.time < w.since) continue;
      if (e.node === w.flow.fromNode && e.chain === "OUTPUT") continue;
      if (packetOf(w.flow, p)) {
        this.watches.delete(w);
        w.resolve(e);
      }
    }
  }
}
