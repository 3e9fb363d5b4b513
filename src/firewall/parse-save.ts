/** One table of `iptables-save -c` output, with packet and byte counters. */
export interface SavedTable {
  readonly name: string;
  readonly chains: SavedChain[];
}

export interface SavedChain {
  readonly name: string;
  /** ACCEPT or DROP for built-in chains, undefined for user chains. */
  readonly policy?: string;
  readonly packets: number;
  readonly bytes: number;
  readonly rules: SavedRule[];
}

export interface SavedRule {
  /** 1-based position in its chain, as `--line-numbers` shows it. */
  readonly num: number;
  readonly packets: number;
  readonly bytes: number;
  /** The rule as iptables-save prints it, without `-A CHAIN`. */
  readonly spec: string;
  readonly comment?: string;
}

/** Parses `iptables-save -c` (counters before each rule: `[12:840] -A INPUT ...`). */
export function parseSave(text: string): SavedTable[] {
  const tables: SavedTable[] = [];
  let table: SavedTable | undefined;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line.startsWith("*")) {
      table = { name: line.slice(1), chains: [] };
      tables.push(table);
      continue;
    }
    if (!table) continue;
    const head = /^:(\S+) (\S+) \[(\d+):(\d+)\]/.exec(line);
    if (head) {
      table.chains.push({
        name: head[1]!,
        policy: head[2] === "-" ? undefined : head[2],
        packets: Number(head[3]),
        bytes: Number(head[4]),
        rules: [],
      });
      continue;
    }
    const rule = /^(?:\[(\d+):(\d+)\] )?-A (\S+) ?(.*)$/.exec(line);
    if (rule) {
      const chain = table.chains.find((c) => c.name === rule[3]);
      if (!chain) continue;
      const spec = rule[4] ?? "";
      chain.rules.push({
        num: chain.rules.length + 1,
        packets: Number(rule[1] ?? 0),
        bytes: Number(rule[2] ?? 0),
        spec,
        comment: /--comment (?:"((?:[^"\\]|\\.)*)"|(\S+))/
          .exec(spec)
          ?.slice(1)
          .find((x) => x !== undefined),
      });
    }
  }
  return tables;
}

export function findChain(
  tables: readonly SavedTable[],
  table: string,
  chain: string,
): SavedChain | undefined {
  return tables.find((t) => t.name === table)?.chains.find((c) => c.name === chain);
}
