import { parse as parseShell } from "shell-quote";

/**
 * The part of the shell a rules script is written in, played without running anything: what
 * firewall scripts in the wild use around their iptables lines (distribution examples, hardening
 * guides, the classic rc.firewall DMZ scripts). Variables (`NAME=value`, `export`, `readonly`,
 * `$NAME`, `${NAME}`, `${NAME:-default}`, unquoted values split into words as a shell splits
 * them), lists (`;`, `&&`, `||`), `for NAME in words; do ...; done` (nested, on one line or
 * several), redirections (dropped: `2>/dev/null`; `echo 1 > /proc/sys/...` is a sysctl), `exit`.
 * What needs a real shell (`if`, `case`, functions, command substitution) is refused with its
 * line, never guessed.
 */
export class ScriptError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * A command the player took and that failed as the tool would (`iptables -N X` when X exists):
 * a later `||` of its list catches it, as a shell would. Other ScriptErrors are refusals.
 */
export class CommandFailed extends ScriptError {}

/** A simple command of the script, its words expanded, and the script line it starts on. */
export interface ScriptCommand {
  readonly argv: readonly string[];
  readonly line: number;
  /** Where its output went (`echo 1 > /proc/sys/net/ipv4/ip_forward`): the last `>` or `>>` target. */
  readonly writesTo?: string;
  /** Its output feeds a pipe (`iptables-save | grep ...`): the rest of the pipe is not played. */
  readonly piped?: true;
}

/** What a played command did: true (done), false (failed as `false` does), "exit". */
export type Outcome = boolean | "exit";

interface Piece {
  readonly line: number;
  readonly text: string;
  /** How it joins the next piece of its line: `;` (or the line's end), `&&`, `||`. */
  readonly joins: ";" | "&&" | "||";
}

type Statement =
  | (Piece & { readonly kind: "simple" })
  | (Piece & {
      readonly kind: "for";
      readonly name: string;
      readonly words: string;
      readonly body: Statement[];
    });

/**
 * Plays a script: every simple command, variables expanded, goes to `run` in order; `run`
 * returns false for a command that fails like `false`, throws CommandFailed for one that fails
 * (a later `||` of the same list catches it, as a shell would), or a ScriptError to refuse it.
 */
export function playScript(text: string, run: (cmd: ScriptCommand) => Outcome): void {
  const statements = block(pieces(text), 0, undefined).body;
  play(statements, {}, run);
}

function play(
  statements: readonly Statement[],
  vars: Record<string, string>,
  run: (cmd: ScriptCommand) => Outcome,
): Outcome {
  let status = true;
  let skip = false;
  for (let i = 0; i < statements.length; i++) {
    const s = statements[i]!;
    if (!skip) {
      let outcome: Outcome;
      try {
        outcome = s.kind === "for" ? playFor(s, vars, run) : simple(s, vars, run);
      } catch (err) {
        // A failure the list handles (`iptables -N X || iptables -F X`, `... || true`).
        if (!(err instanceof CommandFailed) || !orFollows(statements, i)) throw err;
        outcome = false;
      }
      if (outcome === "exit") return "exit";
      status = outcome;
    }
    // `a && b`: b only if a did; `a || b`: b only if a failed; `;` runs the next in any case.
    skip = s.joins === "&&" ? !status : s.joins === "||" ? status : false;
    if (s.joins === ";") status = true;
  }
  return true;
}

function orFollows(statements: readonly Statement[], i: number): boolean {
  for (let k = i; k < statements.length && statements[k]!.joins !== ";"; k++)
    if (statements[k]!.joins === "||") return true;
  return false;
}

function playFor(
  s: Extract<Statement, { kind: "for" }>,
  vars: Record<string, string>,
  run: (cmd: ScriptCommand) => Outcome,
): Outcome {
  for (const word of words(s.words, vars, s.line).argv) {
    vars[s.name] = word;
    if (play(s.body, vars, run) === "exit") return "exit";
  }
  return true;
}

const ASSIGN = /^(?:(?:export|readonly|declare|local|typeset)\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s;

function simple(s: Piece, vars: Record<string, string>, run: (cmd: ScriptCommand) => Outcome): Outcome {
  const assign = ASSIGN.exec(s.text);
  if (assign) {
    vars[assign[1]!] = words(assign[2]!, vars, s.line).argv.join(" ");
    return true;
  }
  // What needs a real shell is said before its words are looked at (`if [ "$1" = start ]`).
  const keyword = /^[^\s;&|<>()]+/.exec(s.text)?.[0] ?? "";
  if (
    SHELL_ONLY.has(keyword) ||
    /^[A-Za-z_][\w-]*\(\)$/.test(keyword) ||
    /^[A-Za-z_][\w-]*\s*\(\)/.test(s.text)
  )
    throw new ScriptError(
      s.line,
      `shell "${keyword}" is not supported in a rules script: it is played, never run (iptables commands, VAR=value, ;, &&, ||, for loops); write the branch you mean`,
    );
  const cmd = words(s.text, vars, s.line);
  const [name, arg] = cmd.argv;
  if (name === undefined) return true;
  // `export NAME` (already set) and the like change nothing a played script sees.
  if (/^(export|readonly|declare|local|typeset|set|shopt|umask|unset|true|:)$/.test(name)) return true;
  if (name === "false") return false;
  if (name === "exit" || name === "return") return "exit";
  // `[ -x /sbin/iptables ] || exit 0`: the tools and /proc/sys are there in a firewall node.
  if (name === "[" || name === "test") {
    if (/^-[efdrx]$/.test(arg ?? "") && cmd.argv.length <= (name === "[" ? 4 : 3)) return true;
    throw new ScriptError(
      s.line,
      `"${cmd.argv.join(" ")}": a played script only takes file tests (-e, -f, -d, -r, -x) as true; write the branch you mean`,
    );
  }
  return run({ ...cmd, line: s.line });
}

const SHELL_ONLY = new Set([
  "if",
  "then",
  "elif",
  "else",
  "fi",
  "case",
  "esac",
  "while",
  "until",
  "function",
  "select",
  "{",
  "}",
  "eval",
  "source",
  ".",
]);

/** The script's logical lines (continuations joined), cut into the pieces of each list. */
function pieces(text: string): Piece[] {
  const out: Piece[] = [];
  const raw = text.split(/\r?\n/);
  for (let i = 0; i < raw.length; i++) {
    const line = i + 1;
    let s = raw[i]!;
    while (s.endsWith("\\") && i + 1 < raw.length) s = s.slice(0, -1) + raw[++i];
    for (const p of splitList(s, line)) out.push(p);
  }
  return out;
}

/** One line cut at `;`, `&&` and `||` outside quotes; a `#` that starts a word ends it. */
function splitList(s: string, line: number): Piece[] {
  const out: Piece[] = [];
  let start = 0;
  let quote: string | undefined;
  const push = (end: number, then: Piece["joins"]) => {
    const text = s.slice(start, end).trim();
    if (text) out.push({ line, text, joins: then });
    else if (then !== ";") throw new ScriptError(line, `"${then}" without a command before it`);
  };
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quote) {
      if (c === "\\" && quote === '"') i++;
      else if (c === quote) quote = undefined;
      continue;
    }
    if (c === "\\") i++;
    else if (c === "'" || c === '"') quote = c;
    else if (c === "#" && (i === 0 || /\s/.test(s[i - 1]!))) {
      s = s.slice(0, i);
      break;
    } else if (c === ";" && s[i + 1] !== ";") {
      push(i, ";");
      start = i + 1;
    } else if ((c === "&" || c === "|") && s[i + 1] === c) {
      push(i, c === "&" ? "&&" : "||");
      start = i + 2;
      i++;
    }
  }
  push(s.length, ";");
  // Keywords that open a body share their line with its first command: `do iptables ...`.
  return out.flatMap((p) => {
    const m = /^(do|then|else)\s+(.*)$/s.exec(p.text);
    return m
      ? [
          { ...p, text: m[1]!, joins: ";" as const },
          { ...p, text: m[2]! },
        ]
      : [p];
  });
}

/** Statements from `from` up to the `done` that closes an open `for` (`closing`), or the end. */
function block(
  all: readonly Piece[],
  from: number,
  closing: Piece | undefined,
): { body: Statement[]; next: number } {
  const body: Statement[] = [];
  let i = from;
  while (i < all.length) {
    const p = all[i]!;
    if (p.text === "done" || /^done\s*(?:[<>]|\d>)/.test(p.text)) {
      if (!closing) throw new ScriptError(p.line, '"done" without a "for" before it');
      return { body, next: i + 1 };
    }
    const loop = /^for\s+([A-Za-z_][A-Za-z0-9_]*)(?:\s+in\s+(.*)|\s*)$/s.exec(p.text);
    if (!loop) {
      body.push({ ...p, kind: "simple" });
      i++;
      continue;
    }
    if (loop[2] === undefined)
      throw new ScriptError(
        p.line,
        `"for ${loop[1]}" without "in words": a played script has no arguments to loop over`,
      );
    if (all[i + 1]?.text !== "do") throw new ScriptError(p.line, `"for ${loop[1]} in ..." without "do"`);
    const inner = block(all, i + 2, p);
    const done = all[inner.next - 1]!;
    body.push({ ...p, joins: done.joins, kind: "for", name: loop[1]!, words: loop[2], body: inner.body });
    i = inner.next;
  }
  if (closing) throw new ScriptError(closing.line, '"for" without its "done"');
  return { body, next: i };
}

/** Redirections: the operator, then its target (dropped with it). */
const REDIRECT = new Set([">", ">>", ">&", "&>", "<", "<&", ">|", "<<"]);

/** A piece's words as the shell would hand them to its command, redirections taken out. */
function words(text: string, vars: Record<string, string>, line: number): Omit<ScriptCommand, "line"> {
  // A shell would run these; a played script cannot (and must not) run anything.
  const subst = /\$\(|`/.exec(text.replace(/'[^']*'/g, ""))?.[0];
  if (subst)
    throw new ScriptError(
      line,
      `command substitution ${subst === "`" ? "`...`" : "$(...)"} is not supported in a rules script (it is played, never run): write the value itself`,
    );
  const expanded = expand(text, vars, line);
  const argv: string[] = [];
  let writesTo: string | undefined;
  const tokens = parseShell(expanded, (name) => {
    throw new ScriptError(line, `$${name} cannot be played here`);
  });
  for (let i = 0; i < tokens.length; i++) {
    const tok = tokens[i]!;
    if (typeof tok === "string") {
      argv.push(tok);
      continue;
    }
    if ("comment" in tok) break;
    // A glob stays a pattern: nothing is listed on this machine (a sysctl key may hold one).
    if (tok.op === "glob") {
      argv.push(tok.pattern);
      continue;
    }
    if (REDIRECT.has(tok.op)) {
      // `2>/dev/null`: the 2 is the redirection's, not the command's (`echo 1 > f` writes a 1).
      const last = argv.at(-1);
      if (
        last !== undefined &&
        /^\d$/.test(last) &&
        new RegExp(`(^|\\s)${last}${regexSafe(tok.op)}`).test(expanded)
      )
        argv.pop();
      const next = tokens[++i];
      const target =
        typeof next === "string"
          ? next
          : next && "op" in next && next.op === "glob"
            ? next.pattern
            : undefined;
      if (target !== undefined && (tok.op === ">" || tok.op === ">>" || tok.op === ">|")) writesTo = target;
      continue;
    }
    if (tok.op === "|" && argv[0] !== undefined) return { argv, piped: true };
    throw new ScriptError(line, `shell operator "${tok.op}" is not supported in a rules script`);
  }
  return { argv, ...(writesTo !== undefined ? { writesTo } : {}) };
}

const regexSafe = (s: string) => s.replace(/[|&>]/g, "\\$&");

/**
 * Replaces `$NAME`, `${NAME}`, `${NAME:-default}` and `${NAME-default}` outside single quotes.
 * Inside double quotes a value stays one word; outside, it splits on spaces as in a shell, and
 * nothing else in it is taken for shell syntax.
 */
function expand(text: string, vars: Record<string, string>, line: number): string {
  let out = "";
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote === "'") {
      out += c;
      if (c === "'") quote = undefined;
      continue;
    }
    if (c === "\\") {
      out += c + (text[i + 1] ?? "");
      i++;
      continue;
    }
    if (c === "'" || c === '"') {
      if (c === "'" && !quote) quote = "'";
      else if (c === '"') quote = quote ? undefined : '"';
      out += c;
      continue;
    }
    if (c !== "$") {
      out += c;
      continue;
    }
    const rest = text.slice(i);
    const m = /^\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))/.exec(rest);
    if (!m) {
      const special = /^\$(\{[^}]*\}|[0-9@*#?$!-])/.exec(rest);
      if (special)
        throw new ScriptError(
          line,
          `$${special[1]} is not supported in a rules script (it is played, never run: no arguments, no exit statuses)`,
        );
      out += c;
      continue;
    }
    const name = (m[1] ?? m[4])!;
    const set = vars[name];
    const value = m[2] === ":-" ? (set ? set : m[3]!) : m[2] === "-" ? (set ?? m[3]!) : set;
    if (value === undefined)
      throw new ScriptError(line, `variable $${name} is not set (set it with ${name}=... above)`);
    out += quote ? value.replace(/["\\$`]/g, "\\$&") : value.replace(/[^\s\w@%+=:,./-]/g, "\\$&");
    i += m[0].length - 1;
  }
  return out;
}
