import type { ConntrackChangeEvent, TraceEvent } from "../evidence/events.ts";
import type { LabNode } from "../lab/lab-node.ts";
import type { ProbeFlow } from "../probes/probe-agent.ts";
import type { NodeExec } from "../runtime/exec-result.ts";
import { describePacket } from "./onward-drops.ts";

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
  const target = labHost(w.nodes, w.to);
  if (!sent || !target || !w.flow || translated(w.conntrack, w.flow, sent.src)) return "";
  const why = await missingRoute(w.exec, target, sent.src);
  return why
    ? `; ${target.name} has no route back to ${sent.src} (${why}): without a firewall translating the source on the way (SNAT, MASQUERADE), its answer has nowhere to go`
    : "";
}

/** What tells whether the server's own questions to a third host had a way back. */
export interface OnwardWayBack extends Omit<WayBack, "trace" | "flow"> {
  /** The step's trace lines of packets other than the probe's own. */
  readonly others: readonly TraceEvent[];
  /** The probing node's addresses: its own answers are no question to a third host. */
  readonly client: readonly string[];
}

/**
 * The same for the server's own question to a third host (a DNS server that forwards, a proxy):
 * a firewall passed it on with its source untranslated (an untracked packet, NOTRACK's, is never
 * NATed) to a host with no route back to the server. The probe's own packets passed and its
 * server was asked, but the answer it waited for had nowhere to go.
 */
export async function onwardNoWayBack(w: OnwardWayBack): Promise<string> {
  const asked = new Map<string, TraceEvent>();
  for (const e of w.others) {
    const p = e.packet;
    if (!p || p.src !== w.to || w.client.includes(p.dst) || e.passed !== "forwarded" || p.proto === "other")
      continue;
    const key = `${p.proto} ${p.dst} ${p.dport ?? ""}`;
    if (!asked.has(key)) asked.set(key, e);
  }
  for (const e of asked.values()) {
    const p = e.packet!;
    const target = labHost(w.nodes, p.dst);
    const flow = { proto: p.proto as "tcp" | "udp", dst: p.dst, sport: p.sport, dport: p.dport };
    if (!target || translated(w.conntrack, flow, p.src)) continue;
    const why = await missingRoute(w.exec, target, p.src);
    if (why)
      return `; meanwhile ${w.to} asked another host, and ${e.node} passed that on with its source untranslated: ${describePacket(p)}; ${target.name} has no route back to ${p.src} (${why}), so that answer has nowhere to go`;
  }
  return "";
}

/** The lab host (no firewall) with this address. */
const labHost = (nodes: readonly LabNode[], addr: string): LabNode | undefined =>
  nodes.find(
    (n) => !n.firewall && [...Object.values(n.addresses), ...Object.values(n.addresses6)].includes(addr),
  );

/** Why the node has no route to `dst` (its kernel's words), or undefined when it has one. */
async function missingRoute(exec: WayBack["exec"], node: LabNode, dst: string): Promise<string | undefined> {
  const route = await exec(node.name)(["ip", "route", "get", dst]).catch(() => undefined);
  if (!route || route.exitCode === 0) return undefined;
  return route.stderr.trim().split("\n").at(-1) || "no route";
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
