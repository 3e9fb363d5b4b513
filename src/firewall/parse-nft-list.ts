import type { SavedChain, SavedTable } from "./parse-save.ts";
import { TRACE_TABLE } from "./trace-table.ts";

/**
 * Parses `nft list ruleset` (with or without `-a`) into tables, chains and rules, numbered by
 * position in their chain as `fwlab counters` and a scenario's `counters` evidence count them.
 * nft counts only what a rule asks it to: a rule with a `counter` statement has its packets and
 * bytes (a named one, `counter name "web-hits"`, the named counter's), every other rule is
 * `uncounted`. Chains have no policy counters. Sets, maps and other objects are skipped, and so
 * is fwlab's own table (its traces). A rule's spec is its text
 * without the counter's values and the handle, so it stays the same from one reading to the next.
 */
export function parseNftList(text: string): SavedTable[] {
  const tables: SavedTable[] = [];
  const named = new Map<SavedTable, Map<string, { packets: number; bytes: number }>>();
  let table: SavedTable | undefined;
  let chain: SavedChain | undefined;
  let object: { name: string } | undefined; // a named counter being read
  let skipDepth = 0; // inside a set, map or other block of the table: its depth
  for (const raw of text.split("\n")) {
    const line = raw.replace(/\s+# handle \d+\s*$/, "").trim();
    if (!line) continue;
    if (skipDepth > 0) {
      skipDepth += braces(line);
      continue;
    }
    const head = /^table (\S+) (\S+) \{$/.exec(line);
    if (head) {
      table = { name: head[2]!, nftFamily: head[1]!, chains: [] };
      if (head[2] !== TRACE_TABLE) tables.push(table);
      named.set(table, new Map());
      chain = undefined;
      continue;
    }
    if (!table) continue;
    if (line === "}") {
      if (chain) chain = undefined;
      else if (object) object = undefined;
      else table = undefined;
      continue;
    }
    if (chain) {
      const base = /^type filter hook (\w+) .*?(?:policy (\w+);)?$/.exec(line);
      if (base) chain = Object.assign(chain, { hook: base[1], hookPolicy: base[2] ?? "accept" });
      if (/^(type|policy|comment|devices) /.test(line)) continue; // the chain's own settings
      chain.rules.push(nftRule(line, chain.rules.length + 1));
      continue;
    }
    if (object) {
      const values = /^packets (\d+) bytes (\d+)/.exec(line);
      if (values)
        named.get(table)!.set(object.name, { packets: Number(values[1]), bytes: Number(values[2]) });
      continue;
    }
    const chainHead = /^chain (\S+) \{$/.exec(line);
    if (chainHead) {
      chain = { name: unquote(chainHead[1]!), packets: 0, bytes: 0, rules: [] };
      table.chains.push(chain);
      continue;
    }
    const counterHead = /^counter (\S+) \{$/.exec(line);
    if (counterHead) {
      object = { name: unquote(counterHead[1]!) };
      continue;
    }
    skipDepth = braces(line); // a set, map, flowtable, quota, ct helper ...: not counters
  }
  // Rules that count into a named counter report its values (shared by every rule using it).
  for (const t of tables)
    for (const c of t.chains)
      c.rules.forEach((r: NftRule, i) => {
        const { counterName, uncounted, ...rule } = r;
        const v = counterName === undefined ? undefined : named.get(t)!.get(counterName);
        c.rules[i] = v ? { ...rule, ...v } : { ...rule, ...(uncounted ? { uncounted } : {}) };
      });
  return tables;
}

type NftRule = SavedChain["rules"][number] & { counterName?: string };

function nftRule(line: string, num: number): NftRule {
  const anonymous = /\bcounter packets (\d+) bytes (\d+)/.exec(line);
  const byName = /\bcounter name "?([^"\s]+)"?/.exec(line);
  const spec = line.replace(/\bcounter packets \d+ bytes \d+/, "counter").replace(/\s+/g, " ");
  const comment = /\bcomment "((?:[^"\\]|\\.)*)"\s*$/.exec(line)?.[1];
  return {
    num,
    packets: anonymous ? Number(anonymous[1]) : 0,
    bytes: anonymous ? Number(anonymous[2]) : 0,
    spec,
    ...(comment !== undefined ? { comment } : {}),
    ...(anonymous ? {} : { uncounted: true as const }),
    ...(byName ? { counterName: byName[1]! } : {}),
  };
}

/** Opened minus closed braces outside quoted strings. */
function braces(line: string): number {
  let depth = 0;
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === "\\" && quoted) i++;
    else if (c === '"') quoted = !quoted;
    else if (!quoted && c === "{") depth++;
    else if (!quoted && c === "}") depth--;
  }
  return depth;
}

const unquote = (s: string): string => s.replace(/^"(.*)"$/, "$1");
