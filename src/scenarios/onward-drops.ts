import type { TraceEvent } from "../evidence/events.ts";
import type { TracePacket } from "../evidence/parse-trace.ts";
import { dropSite, dropsPacket } from "./flow-verdicts.ts";

const PROTO = { tcp: "TCP", udp: "UDP", other: "IP" } as const;
const endpoint = (addr: string, port?: number) =>
  port === undefined ? addr : addr.includes(":") ? `[${addr}]:${port}` : `${addr}:${port}`;
/** "UDP 10.0.2.53:41234 -> 198.51.100.53:53" */
export const describePacket = (p: TracePacket): string =>
  `${PROTO[p.proto]} ${endpoint(p.src, p.sport)} -> ${endpoint(p.dst, p.dport)}`;

/**
 * Packets the probe's server sent to a third host while the step ran, that a firewall dropped:
 * a DNS server that forwards to another, a proxy, a server that looks its client up. The probe's
 * own packets passed, yet its answer never came: the firewall stopped the server's own question.
 * One per destination and port (a resolver retries). `events` are the step's other packets: the
 * probe's own (its answers too, to the client or to a firewall that masqueraded it) are not.
 */
export function onwardDrops(
  events: readonly TraceEvent[],
  server: string,
  client: readonly string[],
): TraceEvent[] {
  const seen = new Map<string, TraceEvent>();
  for (const e of events) {
    const p = e.packet;
    if (!p || p.src !== server || client.includes(p.dst) || !dropsPacket(e)) continue;
    const key = `${p.proto} ${p.dst} ${p.dport ?? ""}`;
    if (!seen.has(key)) seen.set(key, e);
  }
  return [...seen.values()];
}

/**
 * The clause a failure reason gains: "; meanwhile 10.0.2.53 asked another host, and a firewall
 * dropped that: UDP 10.0.2.53:52082 -> 198.51.100.53:53 (fw filter forward rule 7)".
 */
export function onwardDropsClause(drops: readonly TraceEvent[], server: string): string {
  if (!drops.length) return "";
  const what = drops
    .slice(0, 3)
    .map((e) => `${describePacket(e.packet!)} (${e.node} ${dropSite(e)})`)
    .join(", ");
  const more = drops.length > 3 ? ` and ${drops.length - 3} more` : "";
  return `; meanwhile ${server} asked another host, and a firewall dropped that: ${what}${more}`;
}
