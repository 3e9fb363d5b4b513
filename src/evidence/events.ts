import type { SavedTable } from "../firewall/parse-save.ts";
import type { Hook } from "../util/netfilter-hooks.ts";
import type { PacketFields } from "./packet-fields.ts";
import type { ConntrackEntry, ConntrackEventType } from "./parse-conntrack.ts";
import type { TraceConntrack, TracePacket } from "./parse-trace.ts";

/** Where an event happened. */
export interface Origin {
  readonly lab: string;
  readonly node: string;
}

/** A LOG (kernel log) or NFLOG line: one packet that a rule logged. */
export interface PacketLogEvent extends Origin {
  readonly kind: "packet-log";
  readonly source: "LOG" | "NFLOG";
  /** NFLOG group (NFLOG only). */
  readonly group?: number;
  readonly prefix: string;
  readonly fields: PacketFields;
  /** When fwlab received it (ms since the epoch). */
  readonly time: number;
}

export interface ConntrackChangeEvent extends Origin {
  readonly kind: "conntrack";
  readonly type: ConntrackEventType;
  readonly entry: ConntrackEntry;
  /** Kernel time of the event, when the kernel gives one (a DESTROY's: its entry's end). */
  readonly kernelTime?: number;
  /** For a DESTROY, the kernel time its entry began. */
  readonly kernelStart?: number;
  readonly time: number;
}

export interface ConntrackTableEvent extends Origin {
  readonly kind: "conntrack-table";
  readonly entries: readonly ConntrackEntry[];
  readonly count: number;
  /** count x the real size of one entry on this kernel (slab object size). */
  readonly memoryBytes: number;
  readonly entryBytes: number;
  /** Why the table was read: asked for, or re-read after a loss. */
  readonly reason: "snapshot" | "resync";
  readonly time: number;
}

export interface CountersEvent extends Origin {
  readonly kind: "counters";
  readonly tables: readonly SavedTable[];
  readonly time: number;
}

/** One rule a traced packet passed, in order; the last one of a packet has its final verdict. */
export interface TraceEvent extends Origin {
  readonly kind: "trace";
  /** xtables-monitor's packet id: all steps of one packet share it. */
  readonly packetId: string;
  readonly table: string;
  readonly chain: string;
  /** Rule number in its chain; undefined for the chain's policy. */
  readonly rule?: number;
  readonly verdict: string;
  readonly ruleText: string;
  /** The packet as it entered this node (before any NAT here), when the trace printed it. */
  readonly packet?: TracePacket;
  /**
   * Not a rule of the ruleset: the packet got through every hook of this node and left it
   * ("forwarded") or was delivered to its own sockets ("delivered"). Seen from fwlab's own
   * last-priority chains, so it holds whatever backend the ruleset uses.
   */
  readonly passed?: "forwarded" | "delivered";
  /** The first event of a packet's trace on this node (its id may be an earlier packet's). */
  readonly start?: true;
  /** The hook the packet was at (a user chain: the hook of the base chain that jumped to it). */
  readonly hook?: Hook;
  /** The packet as this hook saw it (after any NAT before it), on the first event at a hook. */
  readonly seen?: TracePacket;
  /** Its conntrack state there (Linux 6.8+; absent before the conntrack hook). */
  readonly ct?: TraceConntrack;
  readonly time: number;
}

/** Something was lost: never a silent gap. */
export interface LossEvent {
  readonly kind: "loss";
  readonly lab?: string;
  readonly node?: string;
  readonly source: "kernel-log" | "nflog" | "conntrack" | "bus" | "trace";
  /** How many were lost, when known. */
  readonly lost?: number;
  readonly reason: string;
  readonly time: number;
}

/** A note for the user (a sysctl set, a stream restarted). */
export interface NoticeEvent {
  readonly kind: "notice";
  readonly lab?: string;
  readonly node?: string;
  readonly level: "info" | "warn";
  readonly message: string;
  readonly time: number;
}

export type EvidenceEvent =
  | PacketLogEvent
  | ConntrackChangeEvent
  | ConntrackTableEvent
  | CountersEvent
  | TraceEvent
  | LossEvent
  | NoticeEvent;

export type EventKind = EvidenceEvent["kind"];
export type EventOf<K extends EventKind> = Extract<EvidenceEvent, { kind: K }>;

/** One function per kind: adding a kind does not compile until every renderer handles it. */
export type EventRenderers<R> = { [K in EventKind]: (e: EventOf<K>) => R };

export function render<R>(renderers: EventRenderers<R>, e: EvidenceEvent): R {
  return (renderers[e.kind] as (e: EvidenceEvent) => R)(e);
}
