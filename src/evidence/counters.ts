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

/** Packet and byte counters of every rule and policy of an iptables node. */
export async function readCounters(lab: StartedLab, node: string): Promise<SavedTable[]> {
  const backend = (await lab.exec(node, ["fwlab-ruleset", "backend"])).stdout.trim();
  if (backend === "nft") {
    throw new Error(
      `[${node}] counters are read from iptables rulesets; this node runs an nft ruleset (use \`fwlab rules ${node}\`)`,
    );
  }
  const r = await lab.exec(node, ["fwlab-ruleset", "save"]);
  if (r.exitCode !== 0) throw new Error(`[${node}] fwlab-ruleset save failed: ${r.stderr.trim()}`);
  return parseSave(r.stdout);
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
