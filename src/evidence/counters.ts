import { FwlabError, InputError } from "../errors.ts";
import { parseSave, type SavedTable } from "../firewall/parse-save.ts";
import type { StartedLab } from "../lab/started-lab.ts";

export interface CounterDelta {
  readonly table: string;
  readonly chain: string;
  /** Rule number, or undefined for the chain's policy. */
  readonly rule?: number;
  readonly comment?: string;
  readonly spec: string;
  readonly packets: number;
  readonly bytes: number;
}

/**
 * The backend, then (unless it is nft) the save with counters: one exec, so `fwlab counters`
 * answers from one engine call (a `backend` exec and a `save` exec were two round trips).
 */
const BACKEND_THEN_SAVE = 'b=$(fwlab-ruleset backend); echo "$b"; [ "$b" = nft ] || fwlab-ruleset save';

/** Packet and byte counters of every rule and policy of an iptables node. */
export async function readCounters(lab: StartedLab, node: string): Promise<SavedTable[]> {
  const r = await lab.exec(node, ["sh", "-c", BACKEND_THEN_SAVE]);
  const [backend = "", ...save] = r.stdout.split("\n");
  if (backend.trim() === "nft") {
    throw new InputError(
      `[${node}] counters are read from iptables rulesets; this node runs an nft ruleset (use \`fwlab rules ${node}\`)`,
    );
  }
  if (r.exitCode !== 0)
    throw new FwlabError(
      `[${node}] \`fwlab-ruleset save\` failed (exit ${r.exitCode}): ${r.stderr.trim()}; \`fwlab status\` shows whether the node runs`,
    );
  return parseSave(save.join("\n"));
}

/** What changed between two readings (rules matched by table, chain and position). */
export function counterDeltas(before: readonly SavedTable[], after: readonly SavedTable[]): CounterDelta[] {
  const out: CounterDelta[] = [];
  for (const t of after) {
    for (const c of t.chains) {
      const old = before
        .find((x) => x.name === t.name && x.family === t.family)
        ?.chains.find((x) => x.name === c.name);
      if (c.policy) {
        out.push({
          table: t.name,
          chain: c.name,
          spec: `policy ${c.policy}`,
          packets: c.packets - (old?.packets ?? 0),
          bytes: c.bytes - (old?.bytes ?? 0),
        });
      }
      for (const r of c.rules) {
        const o = old?.rules.find((x) => x.num === r.num && x.spec === r.spec);
        out.push({
          table: t.name,
          chain: c.name,
          rule: r.num,
          comment: r.comment,
          spec: r.spec,
          packets: r.packets - (o?.packets ?? 0),
          bytes: r.bytes - (o?.bytes ?? 0),
        });
      }
    }
  }
  return out;
}
