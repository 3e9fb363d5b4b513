import type { RestoreDocument } from "./restore-document.ts";
import { ScriptError } from "./script-error.ts";

/**
 * The iptables ruleset a played script builds, command by command (-A, -I, -R, -D, -C, -P, -N,
 * -F, -X, -E, -Z, -L), with the script line each rule and policy came from; rendered as one
 * iptables-restore document per family (script-to-restore.ts plays the script around it).
 */
const BUILTIN: Record<string, readonly string[]> = {
  raw: ["PREROUTING", "OUTPUT"],
  mangle: ["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"],
  nat: ["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"],
  filter: ["INPUT", "FORWARD", "OUTPUT"],
  security: ["INPUT", "FORWARD", "OUTPUT"],
};
const TABLE_ORDER = ["raw", "mangle", "nat", "filter", "security"] as const;

interface Rule {
  readonly spec: string[];
  readonly line: number;
  /** The command's key, when the script goes on past its failure. */
  readonly skippable?: string;
}
interface Chain {
  policy?: string;
  policyLine?: number;
  readonly rules: Rule[];
  readonly line: number;
}
export type Table = Map<string, Chain>;

const LISTING = /^(?:-[nvx]*[LS][nvx]*|--list|--list-rules)$/;
const LIST_FLAG = /^(?:-[nvx]+|--line-numbers|--numeric|--verbose|--exact)$/;

/** Plays one iptables command on `tables`, as iptables would, or throws ScriptError with its line. */
export function applyCommand(
  tables: Map<string, Table>,
  args: string[],
  line: number,
  tool: string,
  skippable: string | undefined,
): void {
  let tableName = "filter";
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "-t" || a === "--table") tableName = args[++i] ?? "";
    else if (/^-t\w+$/.test(a)) tableName = a.slice(2);
    else rest.push(a);
  }
  const builtins = BUILTIN[tableName];
  if (!builtins)
    throw new ScriptError(line, `unknown table "${tableName}" (tables: ${TABLE_ORDER.join(", ")})`);
  const table =
    tables.get(tableName) ?? new Map(builtins.map((c) => [c, { rules: [], line }] as [string, Chain]));
  tables.set(tableName, table);

  const [op, ...tail] = rest;
  if (op === undefined)
    throw new ScriptError(line, `${tool} without a command (-A, -I, -R, -D, -P, -N, -F, -X, ...)`);
  const chainOf = (name: string | undefined, what: string): Chain => {
    if (!name) throw new ScriptError(line, `${what} needs a chain name`);
    const c = table.get(name);
    if (!c)
      throw new ScriptError(
        line,
        `chain "${name}" does not exist in table ${tableName} (create it with -N ${name})`,
      );
    return c;
  };
  const position = (s: string | undefined, max: number, what: string): number => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < 1 || n > max) {
      throw new ScriptError(line, `${what}: rule number ${s ?? "(none)"} is out of range (1-${max})`);
    }
    return n;
  };

  // A listing (-L, -nL, -n -L X, -S X, --line-numbers) only reads the ruleset, and fails as
  // iptables does when its chain is not there (`iptables -L LOGDROP >/dev/null || iptables -N LOGDROP`).
  if (
    rest.some((a) => LISTING.test(a)) &&
    rest.every((a) => LISTING.test(a) || LIST_FLAG.test(a) || !a.startsWith("-"))
  ) {
    const chain = rest.find((a) => !a.startsWith("-"));
    if (chain !== undefined) chainOf(chain, "a listing");
    return;
  }
  switch (op) {
    case "-A":
    case "--append": {
      const [name, ...spec] = tail;
      chainOf(name, "-A").rules.push({ spec, line, skippable });
      return;
    }
    case "-I":
    case "--insert": {
      const [name, maybe, ...more] = tail;
      const chain = chainOf(name, "-I");
      const numbered = maybe !== undefined && /^\d+$/.test(maybe);
      const at = numbered ? position(maybe, chain.rules.length + 1, "-I") : 1;
      chain.rules.splice(at - 1, 0, { spec: numbered ? more : tail.slice(1), line, skippable });
      return;
    }
    case "-R":
    case "--replace": {
      const [name, n, ...spec] = tail;
      const chain = chainOf(name, "-R");
      chain.rules[position(n, chain.rules.length, "-R") - 1] = { spec, line, skippable };
      return;
    }
    case "-C":
    case "--check": {
      // `iptables -C ... || iptables -A ...`: is the rule there (as -D would find it)?
      const [name, ...spec] = tail;
      if (!chainOf(name, "-C").rules.some((r) => r.spec.join("\0") === spec.join("\0")))
        throw new ScriptError(line, `-C: no rule in ${name} matches "${spec.join(" ")}"`);
      return;
    }
    case "-D":
    case "--delete": {
      const [name, ...spec] = tail;
      const chain = chainOf(name, "-D");
      if (spec.length === 1 && /^\d+$/.test(spec[0]!)) {
        chain.rules.splice(position(spec[0], chain.rules.length, "-D") - 1, 1);
        return;
      }
      const i = chain.rules.findIndex((r) => r.spec.join("\0") === spec.join("\0"));
      if (i < 0) throw new ScriptError(line, `-D: no rule in ${name} matches "${spec.join(" ")}"`);
      chain.rules.splice(i, 1);
      return;
    }
    case "-P":
    case "--policy": {
      const [name, target] = tail;
      if (!name || !builtins.includes(name)) {
        throw new ScriptError(
          line,
          `-P: "${name ?? ""}" is not a built-in chain of ${tableName} (${builtins.join(", ")})`,
        );
      }
      if (target !== "ACCEPT" && target !== "DROP")
        throw new ScriptError(line, `-P: policy must be ACCEPT or DROP, not "${target ?? ""}"`);
      const chain = table.get(name)!;
      chain.policy = target;
      chain.policyLine = line;
      return;
    }
    case "-N":
    case "--new-chain": {
      const [name] = tail;
      if (!name) throw new ScriptError(line, "-N needs a chain name");
      if (!CHAIN_NAME.test(name))
        throw new ScriptError(line, `-N: "${name}" is not a chain name iptables takes`);
      if (table.has(name))
        throw new ScriptError(line, `-N: chain "${name}" already exists in table ${tableName}`);
      table.set(name, { rules: [], line });
      return;
    }
    case "-F":
    case "--flush":
      for (const [name, c] of table) if (!tail[0] || tail[0] === name) c.rules.length = 0;
      if (tail[0]) chainOf(tail[0], "-F");
      return;
    case "-X":
    case "--delete-chain":
      for (const name of [...table.keys()]) {
        if (builtins.includes(name) || (tail[0] && tail[0] !== name)) continue;
        table.delete(name);
      }
      return;
    case "-E":
    case "--rename-chain": {
      const [from, to] = tail;
      const chain = chainOf(from, "-E");
      if (!to || table.has(to) || !CHAIN_NAME.test(to))
        throw new ScriptError(line, `-E: cannot rename ${from} to "${to ?? ""}"`);
      table.delete(from!);
      table.set(to, chain);
      for (const c of table.values()) {
        for (const r of c.rules) {
          r.spec.forEach((w, i) => {
            if (w === from && (r.spec[i - 1] === "-j" || r.spec[i - 1] === "-g")) r.spec[i] = to;
          });
        }
      }
      return;
    }
    case "-Z":
    case "--zero":
      return;
    default:
      throw new ScriptError(
        line,
        `unsupported ${tool} command "${op}" (use -A, -I, -R, -D, -C, -P, -N, -F, -X, -E, -Z or -L)`,
      );
  }
}

/** A chain name iptables takes: up to 28 characters, no space or quote, not like an option. */
const CHAIN_NAME = /^[^-!\s"'][^\s"']{0,27}$/;

/** The tables as an iptables-restore document, each line knowing its script line. */
export function renderTables(tables: Map<string, Table>): RestoreDocument {
  const lines: string[] = [];
  const sourceLines: (number | undefined)[] = [];
  const keys: (string | undefined)[] = [];
  const emit = (text: string, src: number | undefined, key?: string) => {
    lines.push(text);
    sourceLines.push(src);
    keys.push(key);
  };
  for (const name of TABLE_ORDER) {
    const table = tables.get(name);
    if (!table) continue;
    const first = Math.min(...[...table.values()].map((c) => c.line));
    emit(`*${name}`, first);
    for (const [chain, c] of table) {
      const builtin = BUILTIN[name]!.includes(chain);
      emit(`:${chain} ${builtin ? (c.policy ?? "ACCEPT") : "-"} [0:0]`, c.policyLine ?? c.line);
    }
    for (const [chain, c] of table)
      for (const r of c.rules)
        emit(`-A ${chain} ${r.spec.map(quote).join(" ")}`.trimEnd(), r.line, r.skippable);
    // A table the kernel refuses as a whole (legacy iptables names its COMMIT) is no line's.
    emit("COMMIT", undefined);
  }
  return {
    text: `${lines.join("\n")}\n`,
    sourceLine: (n) => sourceLines[n - 1],
    skippable: (n) => keys[n - 1],
    tables: TABLE_ORDER.filter((t) => tables.has(t)),
  };
}

/** iptables-restore (and ip6tables-restore) splits on spaces and honours double quotes. */
function quote(word: string): string {
  if (word !== "" && /^[\w@%+=:,./!-]+$/.test(word)) return word;
  return `"${word.replace(/(["\\])/g, "\\$1")}"`;
}
