import type { ConntrackEntry } from "./parse-conntrack.ts";

/** The orders a conntrack table can be shown in (`fwlab conntrack --sort`, the page's columns). */
export const CONNTRACK_SORTS: Readonly<Record<string, (a: ConntrackEntry, b: ConntrackEntry) => number>> = {
  src: (a, b) => a.original.src.localeCompare(b.original.src, undefined, { numeric: true }),
  dst: (a, b) => a.original.dst.localeCompare(b.original.dst, undefined, { numeric: true }),
  proto: (a, b) => a.proto.localeCompare(b.proto),
  state: (a, b) => (a.state ?? "").localeCompare(b.state ?? ""),
  ttl: (a, b) => (b.timeout ?? 0) - (a.timeout ?? 0),
};
