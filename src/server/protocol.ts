import type { EvidenceEvent } from "../evidence/events.ts";
import type { LabNode } from "../lab/lab-node.ts";

/**
 * Every message the server sends the page over the WebSocket. The page renders these; it never
 * parses tool output.
 */
export type ServerMessage =
  | { readonly kind: "hello"; readonly labs: readonly LabSummary[] }
  /** Log lines and other events, batched (at most every 100 ms). */
  | { readonly kind: "events"; readonly events: readonly EvidenceEvent[] }
  /** Events the server did not send because the page could not keep up (or coalesced away). */
  | { readonly kind: "dropped"; readonly count: number; readonly reason: string };

export interface LabSummary {
  readonly name: string;
  readonly nodes: readonly LabNode[];
}
