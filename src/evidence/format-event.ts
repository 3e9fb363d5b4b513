import type { EventRenderers, EvidenceEvent } from "./events.ts";
import { render } from "./events.ts";
import type { PacketFields } from "./packet-fields.ts";
import type { ConntrackEntry, ConntrackTuple } from "./parse-conntrack.ts";

const time = (ms: number) => new Date(ms).toISOString().slice(11, 23);

export function formatPacket(f: PacketFields): string {
  const ports = (ip?: string, port?: number) => `${ip ?? "?"}${port !== undefined ? `:${port}` : ""}`;
  const what =
    f.proto === "TCP"
      ? `TCP ${f.tcpFlags?.join(",") ?? ""}`
      : f.proto === "ICMP"
        ? `ICMP type ${f.icmpType} code ${f.icmpCode}`
        : (f.proto ?? "?");
  const dev = `${f.in ? `in ${f.in}` : ""}${f.in && f.out ? " " : ""}${f.out ? `out ${f.out}` : ""}`;
  return `${ports(f.src, f.spt)} -> ${ports(f.dst, f.dpt)} ${what} ${f.len ?? "?"}B ttl ${f.ttl ?? "?"} (${dev})`;
}

export function formatTuple(t: ConntrackTuple): string {
  const port = (p?: number) => (p === undefined ? "" : `:${p}`);
  const icmp = t.type !== undefined ? ` type ${t.type}` : "";
  return `${t.src}${port(t.sport)} -> ${t.dst}${port(t.dport)}${icmp}`;
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
