import type { ConntrackChangeEvent, TraceEvent } from "../evidence/events.ts";
import type { LabNode } from "../lab/lab-node.ts";
import type { ProbeFlow } from "../probes/probe-agent.ts";
import type { NodeExec } from "../runtime/exec-result.ts";

/** What tells whether a probe's answer had a way back. */
export interface WayBack {
  /** The firewalls' trace lines of the probe's own flows. */
  readonly trace: readonly TraceEvent[];
  /** The conntrack events of the step (every firewall's). */
  readonly conntrack: readonly ConntrackChangeEvent[];
  readonly flow: ProbeFlow | undefined;
  /** The target's address, and the lab's nodes (the target, if it is one). */
  readonly to: string;
  readonly nodes: readonly LabNode[];
  /** Runs a command in a node (its probe agent). */
  readonly exec: (node: string) => NodeExec;
}

/**
 * Why a probe that passed the firewalls heard nothing, when the cause is routing: the target has
 * no route back to the client, and no firewall translated the client's source on the way (a wan
 * host knows no private addresses; MASQUERADE gives its answer the firewall's address to go to).
 * Asked of the target's own kernel (`ip route get`), so a lab's own routes count. Returns the
 * clause for the step's reason, or "" when the target has a way back or is no lab host.
 */
export async function noWayBack(w: WayBack): Promise<string> {
  const sent = w.trace.find((e) => e.packet?.dst === w.to && e.passed === "forwarded")?.packet;
  const target = w.nodes.find(
    (n) => !n.firewall && [...Object.values(n.addresses), ...Object.values(n.addresses6)].includes(w.to),
  );
  if (!sent || !target || !w.flow || translated(w.conntrack, w.flow, sent.src)) return "";
  const route = await w
    .exec(target.name)(["ip", "route", "get", sent.src])
    .catch(() => undefined);
  if (!route || route.exitCode === 0) return "";
  return `; ${target.name} has no route back to ${sent.src} (${route.stderr.trim().split("\n").at(-1) ?? "no route"}): without a firewall translating the source on the way (SNAT, MASQUERADE), its answer has nowhere to go`;
}

/** Whether a firewall's conntrack shows the flow's source translated (its answer goes elsewhere). */
function translated(events: readonly ConntrackChangeEvent[], flow: ProbeFlow, client: string): boolean {
  return events.some(
    (e) =>
      e.entry.original.src === client &&
      e.entry.original.dst === flow.dst &&
      (flow.sport === undefined || e.entry.original.sport === flow.sport) &&
      e.entry.nat.snat,
  );
}
