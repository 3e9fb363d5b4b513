import { CommandFailed, ScriptError } from "./script-error.ts";
import { testCommand } from "./script-test.ts";
import { type Piece, pieces, scan, words } from "./script-words.ts";

/** A simple command of the script, its words expanded, and the script line it starts on. */
export interface ScriptCommand {
  readonly argv: readonly string[];
  readonly line: number;
  /** Where its standard output went (`echo 1 > /proc/sys/net/ipv4/ip_forward`): the last target. */
  readonly writesTo?: string;
  /** The commands its output is piped into (`iptables-save | grep ...`), their first words. */
  readonly pipedInto?: readonly string[];
}

/** What a played command did: true (done), false (failed as `false` does), "exit". */
export type Outcome = boolean | "exit";

type Statement =
  | (Piece & { readonly kind: "simple" })
  | (Piece & {
      readonly kind: "for";
      readonly name: string;
      readonly words: string;
      readonly body: Statement[];
    })
  | (Piece & {
      readonly kind: "if";
      /** `if` and each `elif`: its condition, and the body it runs. */
      readonly branches: { readonly condition: Statement[]; readonly body: Statement[] }[];
      readonly orElse?: Statement[];
    });

type Run = (cmd: ScriptCommand) => Outcome;

/**
 * Plays a rules script as sh would run it, without running anything: what firewall scripts in
 * the wild use around their iptables lines (distribution examples, hardening guides, the classic
 * rc.firewall DMZ scripts). Variables (`NAME=value`, `export A=1 B=2`, `readonly`, `unset`,
 * `$NAME`, `${NAME}`, `${NAME:-default}`; unquoted values split into words as a shell splits
 * them), lists (`;`, `&&`, `||`, `!`, with a shell's exit statuses), `for NAME in words; do ...;
 * done`, `if ...; then ...; elif ...; else ...; fi` (nested, on one line or several), tests
 * (script-test.ts), redirections (dropped: `2>/dev/null`; `echo 1 > /proc/sys/...` is a kernel
 * setting), `exit`. What needs a real shell (`case`, functions, arguments, command substitution,
 * bash's `$'...'`) is refused with its line, never guessed. Compared with dash by running the
 * same scripts through it.
 *
 * Every simple command, its words expanded, goes to `run` in order; `run` returns false for a
 * command that fails like `false`, throws CommandFailed for one that fails (a later `||` of the
 * same list, or an `if` it is the condition of, catches it, as a shell would), or a ScriptError
 * to refuse it.
 */
export function playScript(text: string, run: Run): void {
  const statements = block(pieces(text), 0, undefined).body;
  play(statements, {}, run);
}

/** Plays statements; the outcome of the last one run (a shell's `$?`), or "exit". */
function play(
  statements: readonly Statement[],
  vars: Record<string, string>,
  run: Run,
  /** A condition's list: a command that fails makes it false, as in `if iptables -N X; then`. */
  condition = false,
): Outcome {
  let status = true;
  let skip = false;
  for (let i = 0; i < statements.length; i++) {
    const s = statements[i]!;
    if (!skip) {
      let outcome: Outcome;
      try {
        outcome =
          s.kind === "for"
            ? playFor(s, vars, run)
            : s.kind === "if"
              ? playIf(s, vars, run)
              : simple(s, vars, run);
      } catch (err) {
        // A failure the list handles (`iptables -N X || iptables -F X`, `... || true`).
        if (!(err instanceof CommandFailed) || !(condition || orFollows(statements, i))) throw err;
        outcome = false;
      }
      if (outcome === "exit") return "exit";
      status = outcome;
    }
    // `a && b`: b only if a did; `a || b`: b only if a failed; `;` runs the next in any case.
    skip = s.joins === "&&" ? !status : s.joins === "||" ? status : false;
  }
  return status;
}

function orFollows(statements: readonly Statement[], i: number): boolean {
  for (let k = i; k < statements.length && statements[k]!.joins !== ";"; k++)
    if (statements[k]!.joins === "||") return true;
  return false;
}

function playFor(s: Extract<Statement, { kind: "for" }>, vars: Record<string, string>, run: Run): Outcome {
  let status: Outcome = true;
  // Its words as a command's are (`$(seq 1 5)` refused as command substitution, with the line).
  for (const word of words(scan(s.words, s.line).words.join(" "), vars, s.line).argv) {
    vars[s.name] = word;
    status = play(s.body, vars, run);
    if (status === "exit") return "exit";
  }
  return status;
}

function playIf(s: Extract<Statement, { kind: "if" }>, vars: Record<string, string>, run: Run): Outcome {
  for (const branch of s.branches) {
    const met = play(branch.condition, vars, run, true);
    if (met === "exit") return "exit";
    if (met) return play(branch.body, vars, run);
  }
  // No branch taken and no else: the if's status is 0, as sh's.
  return s.orElse ? play(s.orElse, vars, run) : true;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const ASSIGNMENT = /^([A-Za-z_][A-Za-z0-9_]*)=/;
const DECLARE = new Set(["export", "readonly", "declare", "local", "typeset"]);
const SHELL_ONLY = new Set([
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

function simple(s: Piece, vars: Record<string, string>, run: Run): Outcome {
  // `! cmd`: its status inverted (a failure it turns into success is caught here, as sh does).
  const bang = /^!\s+(.*)$/s.exec(s.text);
  if (bang) {
    let outcome: Outcome;
    try {
      outcome = simple({ ...s, text: bang[1]! }, vars, run);
    } catch (err) {
      if (!(err instanceof CommandFailed)) throw err;
      outcome = false;
    }
    return outcome === "exit" ? "exit" : !outcome;
  }
  // What needs a real shell is said before its words are looked at (`case "$1" in`).
  const keyword = /^[^\s;&|<>()]+/.exec(s.text)?.[0] ?? "";
  if (SHELL_ONLY.has(keyword) || /^[A-Za-z_][\w-]*\s*\(\)/.test(s.text))
    throw new ScriptError(
      s.line,
      `shell "${/^[A-Za-z_][\w-]*\s*\(\)/.test(s.text) ? `${keyword}()` : keyword}" is not supported in a rules script: it is played, never run (iptables commands, VAR=value, ;, &&, ||, for, if); write the branch you mean`,
    );
  const raw = scan(s.text, s.line);
  const first = raw.words[0] ?? "";
  if (DECLARE.has(first)) {
    // `export A=1 B=2`, `readonly LAN`: each NAME=value is set; flags and bare names change nothing here.
    for (const w of raw.words.slice(1)) if (ASSIGNMENT.test(w)) assign(w, vars, s.line);
    return true;
  }
  // `A=1 B=2` sets both; `LANG=C iptables ...` is iptables with LANG=C, nothing a ruleset sees.
  let n = 0;
  while (n < raw.words.length && ASSIGNMENT.test(raw.words[n]!)) n++;
  if (n === raw.words.length) {
    for (const w of raw.words) assign(w, vars, s.line);
    return true;
  }
  if (first === "unset") {
    for (const w of raw.words.slice(1)) if (NAME.test(w)) delete vars[w];
    return true;
  }
  const cmd = words(raw.words.slice(n).join(" "), vars, s.line);
  const writesTo = raw.writesTo && words(raw.writesTo, vars, s.line).argv[0];
  const [name] = cmd.argv;
  if (name === undefined) return true;
  if (/^(set|shopt|umask|true|:)$/.test(name)) return true;
  if (name === "false") return false;
  if (name === "exit" || name === "return") return "exit";
  if (name === "[" || name === "test") return testCommand(cmd.argv, s.line);
  return run({
    argv: cmd.argv,
    line: s.line,
    ...(writesTo !== undefined ? { writesTo } : {}),
    ...(raw.pipedInto ? { pipedInto: raw.pipedInto.map((p) => words(p, vars, s.line).argv[0] ?? "") } : {}),
  });
}

/** `NAME=value`: the value expanded, not split (a shell splits no assignment). */
function assign(word: string, vars: Record<string, string>, line: number): void {
  const at = word.indexOf("=");
  vars[word.slice(0, at)] = words(word.slice(at + 1), vars, line).argv.join(" ");
}

/** The keywords that close what `for` and `if` open, and what each may close. */
const CLOSERS = new Set(["done", "then", "elif", "else", "fi"]);

/**
 * Statements from `from` up to one of `closers` (the `done` of an open `for`, the `then` of a
 * condition, the `elif`/`else`/`fi` of a branch), or to the end of the script when `opener` is
 * undefined. Returns the closing piece too (its joins are the compound command's).
 */
function block(
  all: readonly Piece[],
  from: number,
  opener: { readonly piece: Piece; readonly closers: readonly string[] } | undefined,
): { body: Statement[]; next: number; closer?: Piece } {
  const body: Statement[] = [];
  let i = from;
  while (i < all.length) {
    const p = all[i]!;
    // `done 2>/dev/null`: a redirection of the whole loop changes nothing a ruleset sees.
    const word = /^(\S+?)(?:\s*(?:[<>]|\d>).*)?$/s.exec(p.text)?.[1] ?? p.text;
    if (CLOSERS.has(word)) {
      if (!opener?.closers.includes(word))
        throw new ScriptError(
          p.line,
          `"${word}" without the ${word === "done" ? '"for"' : '"if"'} it closes`,
        );
      return { body, next: i + 1, closer: p };
    }
    if (p.text === "if") {
      const parsed = ifStatement(all, i);
      body.push(parsed.statement);
      i = parsed.next;
      continue;
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
    const inner = block(all, i + 2, { piece: p, closers: ["done"] });
    body.push({
      ...p,
      joins: inner.closer!.joins,
      kind: "for",
      name: loop[1]!,
      words: loop[2],
      body: inner.body,
    });
    i = inner.next;
  }
  if (opener) {
    const first = /^\S+/.exec(opener.piece.text)?.[0];
    throw new ScriptError(opener.piece.line, `"${first}" without its "${opener.closers.at(-1)}"`);
  }
  return { body, next: i };
}

/** `if LIST; then LIST; [elif LIST; then LIST;]... [else LIST;] fi`, from the `if` piece at `at`. */
function ifStatement(all: readonly Piece[], at: number): { statement: Statement; next: number } {
  const opening = all[at]!;
  const branches: { condition: Statement[]; body: Statement[] }[] = [];
  let from = at + 1;
  let keyword = opening;
  for (;;) {
    const condition = block(all, from, { piece: keyword, closers: ["then"] });
    if (condition.body.length === 0)
      throw new ScriptError(keyword.line, `"${keyword.text}" without a condition`);
    const body = block(all, condition.next, { piece: keyword, closers: ["elif", "else", "fi"] });
    branches.push({ condition: condition.body, body: body.body });
    const closer = body.closer!;
    if (closer.text === "elif") {
      from = body.next;
      keyword = closer;
      continue;
    }
    if (closer.text === "else") {
      const orElse = block(all, body.next, { piece: closer, closers: ["fi"] });
      return {
        statement: { ...opening, joins: orElse.closer!.joins, kind: "if", branches, orElse: orElse.body },
        next: orElse.next,
      };
    }
    return { statement: { ...opening, joins: closer.joins, kind: "if", branches }, next: body.next };
  }
}
