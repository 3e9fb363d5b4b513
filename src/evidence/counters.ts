import { FwlabError } from "../errors.ts";
import { parseNftList } from "../firewall/parse-nft-list.ts";
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
  /** An nft rule without a `counter` statement: nft keeps no count of it. */
  readonly uncounted?: true;
  /** An nft table's family (its rules are nft's statements, not iptables-save's). */
  readonly nftFamily?: string;
  /** The hook of an nft filter chain that is a base chain (input, forward, output ...). */
  readonly hook?: string;
  /** That base chain's policy (accept, drop). */
  readonly hookPolicy?: string;
}

/** Packet and byte counters of every rule (and iptables policy) of a firewall node: one exec. */
export async function readCounters(lab: StartedLab, node: string): Promise<SavedTable[]> {
  const r = await lab.exec(node, ["fwlab-ruleset", "save"]);
  if (r.exitCode !== 0)
    throw new FwlabError(
      `[${node}] \`fwlab-ruleset save\` failed (exit ${r.exitCode}): ${r.stderr.trim()}; \`fwlab status\` shows whether the node runs`,
    );
  return parseCounters(r.stdout);
}

/** `fwlab-ruleset save`'s output: iptables-save (both families), or an nft node's `nft list ruleset`. */
export const parseCounters = (text: string): SavedTable[] =>
  /^table \S+ \S+ \{/m.test(text) ? parseNftList(text) : parseSave(text);

/** What changed between two readings (rules matched by table, chain and position). */
export function counterDeltas(before: readonly SavedTable[], after: readonly SavedTable[]): CounterDelta[] {
  const out: CounterDelta[] = [];
  for (const t of after) {
    for (const c of t.chains) {
      const old = before
        .find((x) => x.name === t.name && x.family === t.family && x.nftFamily === t.nftFamily)
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
          ...(r.uncounted ? { uncounted: true as const } : {}),
          ...(t.nftFamily ? { nftFamily: t.nftFamily } : {}),
          ...(c.hook ? { hook: c.hook, hookPolicy: c.hookPolicy } : {}),
        });
      }
    }
  }
  return out;
}
