import { parse as parseShell } from "shell-quote";
import type { RestoreDocument } from "./restore-document.ts";

/**
 * Turns a shell script of `iptables ...` lines (as the seeds write them) into one
 * iptables-restore document, by playing every command against an empty ruleset.
 *
 * Why not run the script? A script applies rule by rule, so a typo on line 14 leaves lines
 * 1-13 active. Played here and loaded as one document, a ruleset is all or nothing, and every
 * rule remembers the script line it came from, so iptables' own errors point at that line.
 */
export class ScriptError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
  }
}

const BUILTIN: Record<string, readonly string[]> = {
  raw: ["PREROUTING", "OUTPUT"],
  mangle: ["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"],
  nat: ["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"],
  filter: ["INPUT", "FORWARD", "OUTPUT"],
  security: ["INPUT", "FORWARD", "OUTPUT"],
};
export const TABLE_ORDER = ["raw", "mangle", "nat", "filter", "security"] as const;

interface Rule {
  readonly spec: string[];
  readonly line: number;
}
interface Chain {
  policy?: string;
  policyLine?: number;
  readonly rules: Rule[];
  readonly line: number;
}
type Table = Map<string, Chain>;

const IPTABLES = /^(?:\/usr)?(?:\/s?bin\/)?iptables(?:-nft|-legacy)?$/;
/** Lines a script may hold that do not change the ruleset (listing, saving, service control). */
const NO_OP =
  /^(?:(?:\/usr)?(?:\/s?bin\/)?(?:service|systemctl|iptables-save|echo|set|modprobe)|\/etc\/init\.d\/iptables)$/;

export function scriptToRestore(text: string): RestoreDocument {
  const tables = new Map<string, Table>();
  const vars: Record<string, string> = {};
  for (const { line, text: src } of logicalLines(text)) {
    const assign = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(src);
    if (assign) {
      vars[assign[1]!] = words(assign[2]!, vars, line).join(" ");
      continue;
    }
    const argv = words(src, vars, line, true);
    if (argv.length === 0) continue;
    const cmd = argv[0]!;
    if (NO_OP.test(cmd)) continue;
    if (!IPTABLES.test(cmd)) {
      throw new ScriptError(
        line,
        `"${cmd}" is not an iptables command; a rules script holds iptables commands, VAR=value lines and comments`,
      );
    }
    apply(tables, argv.slice(1), line);
  }
  return render(tables);
}

function logicalLines(text: string): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  const raw = text.split(/\r?\n/);
  for (let i = 0; i < raw.length; i++) {
    const start = i + 1;
    let s = raw[i]!;
    while (s.endsWith("\\") && i + 1 < raw.length) s = s.slice(0, -1) + raw[++i];
    s = s.trim();
    if (s === "" || s.startsWith("#")) continue;
    out.push({ line: start, text: s });
  }
  return out;
}

function words(src: string, vars: Record<string, string>, line: number, strict = false): string[] {
  // A shell would run these; a played script cannot (and must not) run anything.
  const subst = /\$\(|`/.exec(src.replace(/'[^']*'/g, "").replace(/(^|\s)#.*$/, ""))?.[0];
  if (subst) {
    throw new ScriptError(
      line,
      `command substitution ${subst === "`" ? "`...`" : "$(...)"} is not supported in a rules script (it is played, never run): write the value itself`,
    );
  }
  const out: string[] = [];
  for (const tok of parseShell(src, (name) => {
    if (!(name in vars))
      throw new ScriptError(line, `variable $${name} is not set (set it with ${name}=... above)`);
    return vars[name];
  })) {
    if (typeof tok === "string") out.push(tok);
    else if ("comment" in tok) break;
    else if (strict && "op" in tok && out[0] && NO_OP.test(out[0]))
      break; // `iptables-save > file`
    else if ("op" in tok)
      throw new ScriptError(line, `shell operator "${tok.op}" is not supported in a rules script`);
  }
  return out;
}

function apply(tables: Map<string, Table>, args: string[], line: number): void {
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
    throw new ScriptError(line, "iptables without a command (-A, -I, -R, -D, -P, -N, -F, -X, ...)");
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

  // Listing flags combined with -L (-nL, -vnL, --line-numbers) only read the ruleset.
  if (/^-[nvxL]*L[nvxL]*$/.test(op) || op === "--list" || op === "-S" || op === "--list-rules") return;
  switch (op) {
    case "-A":
    case "--append": {
      const [name, ...spec] = tail;
      chainOf(name, "-A").rules.push({ spec, line });
      return;
    }
    case "-I":
    case "--insert": {
      const [name, maybe, ...more] = tail;
      const chain = chainOf(name, "-I");
      const numbered = maybe !== undefined && /^\d+$/.test(maybe);
      const at = numbered ? position(maybe, chain.rules.length + 1, "-I") : 1;
      chain.rules.splice(at - 1, 0, { spec: numbered ? more : tail.slice(1), line });
      return;
    }
    case "-R":
    case "--replace": {
      const [name, n, ...spec] = tail;
      const chain = chainOf(name, "-R");
      chain.rules[position(n, chain.rules.length, "-R") - 1] = { spec, line };
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
      if (!to || table.has(to)) throw new ScriptError(line, `-E: cannot rename ${from} to "${to ?? ""}"`);
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
        `unsupported iptables command "${op}" (use -A, -I, -R, -D, -P, -N, -F, -X, -E, -Z or -L)`,
      );
  }
}

function render(tables: Map<string, Table>): RestoreDocument {
  const lines: string[] = [];
  const sourceLines: number[] = [];
  const emit = (text: string, src: number) => {
    lines.push(text);
    sourceLines.push(src);
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
      for (const r of c.rules) emit(`-A ${chain} ${r.spec.map(quote).join(" ")}`.trimEnd(), r.line);
    emit("COMMIT", first);
  }
  return {
    text: `${lines.join("\n")}\n`,
    sourceLine: (n) => sourceLines[n - 1],
    tables: TABLE_ORDER.filter((t) => tables.has(t)),
  };
}

/** iptables-restore splits on spaces and honours double quotes. */
function quote(word: string): string {
  if (word !== "" && /^[\w@%+=:,./!-]+$/.test(word)) return word;
  return `"${word.replace(/(["\\])/g, "\\$1")}"`;
}
