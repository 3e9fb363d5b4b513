import type { StartedLab } from "../lab/started-lab.ts";
import { conntrackEntryBytes } from "../runtime/host-kernel.ts";

/** A firewall's conntrack table in numbers, once a second on the dashboard (its charts). */
export interface ConntrackStats {
  readonly lab: string;
  readonly node: string;
  readonly time: number;
  /** Entries now, and the most the table holds (nf_conntrack_max, host-wide). */
  readonly count: number;
  readonly max: number;
  /** What one entry takes in the kernel (its slab's object size) and so the table: count × entryBytes. */
  readonly entryBytes: number;
  readonly memoryBytes: number;
  /** Entries by "proto state" (tcp ESTABLISHED, udp UNREPLIED, udp ASSURED, icmp -); absent past BREAKDOWN_MAX entries. */
  readonly byState?: Readonly<Record<string, number>>;
  /** The timeouts in force in the node's namespace, in seconds (tcp_timeout_established: 432000, ...). */
  readonly timeouts: Readonly<Record<string, number>>;
  /** Packets dropped for want of a table entry (table full), since the namespace began: `conntrack -S` drop + early_drop. */
  readonly drops: number;
}

/** Past this many entries the per-state count is left out: listing them all each second costs too much. */
export const BREAKDOWN_MAX = 20_000;

const TIMEOUTS = [
  "tcp_timeout_syn_sent",
  "tcp_timeout_established",
  "tcp_timeout_fin_wait",
  "tcp_timeout_close_wait",
  "tcp_timeout_time_wait",
  "udp_timeout",
  "udp_timeout_stream",
  "icmp_timeout",
  "generic_timeout",
];

// One exec: the numbers, the timeouts, the drop counters and (while the table is small enough)
// the entries counted by protocol and state inside the node, so no table crosses the wire.
const SCRIPT = `c=/proc/sys/net/netfilter
n=$(cat $c/nf_conntrack_count); echo "count $n"; echo "max $(cat $c/nf_conntrack_max)"
for t in ${TIMEOUTS.join(" ")}; do [ -r $c/nf_conntrack_$t ] && echo "timeout $t $(cat $c/nf_conntrack_$t)"; done
conntrack -S 2>/dev/null
[ "$n" -le ${BREAKDOWN_MAX} ] && conntrack -L 2>/dev/null | awk '{ s = ($1 == "tcp") ? $4 : (index($0, "[UNREPLIED]") ? "UNREPLIED" : (index($0, "[ASSURED]") ? "ASSURED" : "-")); n[$1 " " s]++ } END { print "breakdown"; for (k in n) print "entries", k, n[k] }'
true`;

/** Parses the output of SCRIPT. */
export function parseConntrackStats(
  stdout: string,
  where: { lab: string; node: string; time: number },
  entryBytes = 0,
): ConntrackStats {
  let count = 0;
  let max = 0;
  let drops = 0;
  let byState: Record<string, number> | undefined;
  const timeouts: Record<string, number> = {};
  for (const line of stdout.split("\n")) {
    const w = line.trim().split(/\s+/);
    if (w[0] === "count") count = Number(w[1]) || 0;
    else if (w[0] === "max") max = Number(w[1]) || 0;
    else if (w[0] === "timeout" && w[1]) timeouts[w[1]] = Number(w[2]) || 0;
    else if (w[0]?.startsWith("cpu=")) {
      for (const kv of w.slice(1)) {
        const [k, v] = kv.split("=");
        if (k === "drop" || k === "early_drop") drops += Number(v) || 0;
      }
    } else if (w[0] === "breakdown") byState = {};
    else if (w[0] === "entries" && byState && w.length === 4) byState[`${w[1]} ${w[2]}`] = Number(w[3]) || 0;
  }
  return {
    ...where,
    count,
    max,
    entryBytes,
    memoryBytes: count * entryBytes,
    timeouts,
    drops,
    ...(byState ? { byState } : {}),
  };
}

export async function conntrackStats(lab: StartedLab, node: string): Promise<ConntrackStats> {
  const [r, entryBytes] = await Promise.all([
    lab.exec(node, ["sh", "-c", SCRIPT]),
    conntrackEntryBytes(lab.engineOf(node).host),
  ]);
  return parseConntrackStats(r.stdout, { lab: lab.name, node, time: Date.now() }, entryBytes ?? 0);
}
