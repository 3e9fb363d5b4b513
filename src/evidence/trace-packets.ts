import { parse as parseShell } from "shell-quote";
import { FwlabError } from "../errors.ts";
import type { StartedLab } from "../lab/started-lab.ts";
import { OWNER, ownerAlive } from "../util/owner.ts";
import type { EventBus } from "./event-bus.ts";
import { followTrace } from "./trace-monitor.ts";

export interface PacketTrace {
  stop(): Promise<void>;
}

/**
 * Each trace's rules carry a comment of their own, signed by this process: two traces on one
 * node (two pages, a page and `fwlab trace`) never remove each other's rules, and rules a
 * killed fwlab left are told from those of one that runs.
 */
const COMMENT = "fwlab-trace";
let traces = 0;

/**
 * Traces packets that match `match` (iptables match syntax: "-p tcp --dport 22 -s 10.0.1.10")
 * through every rule of a node: fwlab inserts its own TRACE rules at the top of raw PREROUTING
 * and raw OUTPUT, follows the node's trace events, and publishes each step with the rule's
 * number and text. `stop()` removes its rules; the user's ruleset is otherwise untouched.
 * Works on nodes whose ruleset was loaded with iptables-nft (the default).
 */
export async function tracePackets(
  lab: StartedLab,
  node: string,
  match: string,
  bus: EventBus,
): Promise<PacketTrace> {
  const backend = (await lab.exec(node, ["fwlab-ruleset", "backend"])).stdout.trim();
  if (backend !== "iptables-nft") {
    throw new FwlabError(
      `[${node}] tracing needs the iptables-nft backend; this node's ruleset uses ${backend}`,
      2,
    );
  }
  const args = parseShell(match).filter((w): w is string => typeof w === "string");
  if (args.some((a) => /^-[AIDRPFXNEjgt]$/.test(a) || a === "--jump")) {
    throw new FwlabError(
      `trace --match takes match options only (e.g. "-p tcp --dport 22"), not "${match}"`,
      2,
    );
  }
  await removeOrphans(lab, node);
  const comment = `${COMMENT}:${OWNER}:${++traces}`;
  // fwlab's TRACE rules come first in raw PREROUTING and OUTPUT: each packet's first line.
  const ours = (_t: unknown, text: string) => text.includes(comment);
  const monitor = await followTrace(lab, node, bus, { rule: ours, start: ours });
  const rule = (op: "-I" | "-D", chain: string) => [
    "iptables-nft",
    "-t",
    "raw",
    op,
    chain,
    ...(op === "-I" ? ["1"] : []),
    ...args,
    "-m",
    "comment",
    "--comment",
    comment,
    "-j",
    "TRACE",
  ];
  for (const chain of ["PREROUTING", "OUTPUT"]) {
    const r = await lab.exec(node, rule("-I", chain));
    if (r.exitCode !== 0) {
      await monitor.stop();
      throw new FwlabError(`[${node}] cannot add the trace rule for "${match}": ${r.stderr.trim()}`, 2);
    }
  }
  // The trace rules may have made the raw table: number their events (and the chains' hooks)
  // from the ruleset as it is now, or they would pass for the user's rules.
  await monitor.renumber();
  return {
    stop: async () => {
      for (const chain of ["PREROUTING", "OUTPUT"]) await lab.exec(node, rule("-D", chain));
      await monitor.stop();
    },
  };
}

/** Trace rules a killed fwlab left behind would trace (and number) packets nobody asked for. */
async function removeOrphans(lab: StartedLab, node: string): Promise<void> {
  const rules = (await lab.exec(node, ["iptables-nft", "-t", "raw", "-S"])).stdout;
  for (const del of orphanTraceRules(rules, ownerAlive))
    await lab.exec(node, ["iptables-nft", "-t", "raw", ...del]);
}

/**
 * The `-D` arguments that remove the trace rules in `iptables -S` output whose fwlab is gone
 * (by `alive`), and those of fwlab versions that did not sign them.
 */
export function orphanTraceRules(save: string, alive: (owner: string) => boolean): string[][] {
  const out: string[][] = [];
  for (const line of save.split("\n")) {
    const words = parseShell(line).map(String);
    if (words[0] !== "-A") continue;
    const comment = words[words.indexOf("--comment") + 1] ?? "";
    const m = new RegExp(`^${COMMENT}(?::(.+):\\d+)?$`).exec(comment);
    if (!m || (m[1] !== undefined && alive(m[1]))) continue;
    out.push(["-D", ...words.slice(1)]);
  }
  return out;
}
