import type { EventRenderers, EvidenceEvent } from "./events.ts";
import { render } from "./events.ts";
import type { PacketFields } from "./packet-fields.ts";
import type { ConntrackEntry, ConntrackTuple } from "./parse-conntrack.ts";

const time = (ms: number) => new Date(ms).toISOString().slice(11, 23);

/** An address and port: 10.0.1.10:80, [2001:db8:1::10]:80 (an IPv6 address alone stays bare). */
export function hostPort(ip: string | undefined, port: number | undefined): string {
  if (port === undefined) return ip ?? "?";
  return ip?.includes(":") ? `[${ip}]:${port}` : `${ip ?? "?"}:${port}`;
}

export function formatPacket(f: PacketFields): string {
  const what =
    f.proto === "TCP"
      ? `TCP ${f.tcpFlags?.join(",") ?? ""}`
      : f.proto === "ICMP" || f.proto === "ICMPv6"
        ? `${f.proto} type ${f.icmpType} code ${f.icmpCode}`
        : (f.proto ?? "?");
  const dev = `${f.in ? `in ${f.in}` : ""}${f.in && f.out ? " " : ""}${f.out ? `out ${f.out}` : ""}`;
  const hops = f.family === 6 ? `hlim ${f.hopLimit ?? "?"}` : `ttl ${f.ttl ?? "?"}`;
  return `${hostPort(f.src, f.spt)} -> ${hostPort(f.dst, f.dpt)} ${what} ${f.len ?? "?"}B ${hops} (${dev})`;
}

export function formatTuple(t: ConntrackTuple): string {
  const icmp = t.type !== undefined ? ` type ${t.type}` : "";
  return `${hostPort(t.src, t.sport)} -> ${hostPort(t.dst, t.dport)}${icmp}`;
}

export function formatConntrack(e: ConntrackEntry): string {
  const nat =
    e.nat.snat || e.nat.dnat
      ? ` | reply ${formatTuple(e.reply)}${e.nat.snat ? " SNAT" : ""}${e.nat.dnat ? " DNAT" : ""}`
      : "";
  const flags = `${e.assured ? " [ASSURED]" : ""}${e.unreplied ? " [UNREPLIED]" : ""}`;
  return `${e.proto} ${e.state ?? ""} ${formatTuple(e.original)}${nat}${flags}${e.timeout !== undefined ? ` ttl ${e.timeout}s` : ""}`.replace(
    /\s+/g,
    " ",
  );
}

/** One line per event, for `fwlab logs -f` and the CLI's other live views. */
const lines: EventRenderers<string> = {
  "packet-log": (e) =>
    `${time(e.time)} ${e.lab}/${e.node} ${e.source}${e.group !== undefined ? `:${e.group}` : ""} "${e.prefix}" ${formatPacket(e.fields)}`,
  conntrack: (e) => `${time(e.time)} ${e.lab}/${e.node} conntrack [${e.type}] ${formatConntrack(e.entry)}`,
  "conntrack-table": (e) =>
    `${time(e.time)} ${e.lab}/${e.node} conntrack table (${e.reason}): ${e.count} entries, ${e.memoryBytes} bytes`,
  counters: (e) => `${time(e.time)} ${e.lab}/${e.node} counters: ${e.tables.length} tables`,
  trace: (e) =>
    `${time(e.time)} ${e.lab}/${e.node} trace ${e.packetId} ${e.table}:${e.chain}:${e.rule ?? "policy"}:${e.verdict} ${e.ruleText}`,
  loss: (e) =>
    `${time(e.time)} ${e.lab ?? "*"}/${e.node ?? "*"} LOSS ${e.source}${e.lost ? ` ${e.lost} lost` : ""}: ${e.reason}`,
  notice: (e) => `${time(e.time)} ${e.level === "warn" ? "WARNING " : ""}${e.message}`,
};

export const formatEvent = (e: EvidenceEvent): string => render(lines, e);
