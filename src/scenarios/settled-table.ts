import type { ConntrackEntry } from "../evidence/parse-conntrack.ts";
import type { ProbeFlow } from "../probes/probe-agent.ts";

/** TCP states of a connection between its first FIN and its last ACK. */
const CLOSING = new Set(["FIN_WAIT", "CLOSE_WAIT", "LAST_ACK"]);
const CLOSE_WAIT_LIMIT_MS = 1000;

/**
 * A firewall's table once the probe's own TCP connections are done closing: the probe ends
 * when its answer is in, and the close's last ACK crosses the firewall a moment later (tens of
 * milliseconds on a machine running five labs, where a closed HTTP connection was read in
 * FIN_WAIT once instead of TIME_WAIT). Read again every 25 ms while one is closing, up to 1 s.
 */
export async function settledTable(
  read: () => Promise<ConntrackEntry[]>,
  flows: readonly ProbeFlow[],
  limitMs = CLOSE_WAIT_LIMIT_MS,
): Promise<ConntrackEntry[]> {
  const closing = (t: readonly ConntrackEntry[]) =>
    t.some(
      (e) =>
        e.proto === "tcp" &&
        CLOSING.has(e.state ?? "") &&
        flows.some((f) => f.proto === "tcp" && f.sport === e.original.sport && f.dst === e.original.dst),
    );
  const until = performance.now() + limitMs;
  let table = await read();
  while (closing(table) && performance.now() < until) {
    await new Promise((r) => setTimeout(r, 25));
    table = await read();
  }
  return table;
}
