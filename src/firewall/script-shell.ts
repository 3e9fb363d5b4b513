import { parse as parseShell } from "shell-quote";

/**
 * The part of the shell a rules script is written in, played without running anything: what
 * firewall scripts in the wild use around their iptables lines (distribution examples, hardening
 * guides, the classic rc.firewall DMZ scripts). Variables (`NAME=value`, `export A=1 B=2`,
 * `readonly`, `unset`, `$NAME`, `${NAME}`, `${NAME:-default}`; unquoted values split into words as
 * a shell splits them), lists (`;`, `&&`, `||`, with a shell's exit statuses), `for NAME in words;
 * do ...; done` (nested, on one line or several), redirections (dropped: `2>/dev/null`; `echo 1 >
 * /proc/sys/...` is a kernel setting), file tests on the tools and /proc, `exit`. What needs a
 * real shell (`if`, `case`, functions, command substitution, bash's `$'...'`) is refused with
 * its line, never guessed. Compared with dash by running the same scripts through it.
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
  /** Where its standard output went (`echo 1 > /proc/sys/net/ipv4/ip_forward`): the last target. */
  readonly writesTo?: string;
  /** The commands its output is piped into (`iptables-save | grep ...`), their first words. */
  readonly pipedInto?: readonly string[];
}

/** What a played command did: true (done), false (failed as `false` does), "exit". */
export type Outcome = boolean | "exit";

interface Piece {
  readonly line: number;
  readonly text: string;
  /** How it joins the next piece: `;` (or the line's end), `&&`, `||`. */
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

type Run = (cmd: ScriptCommand) => Outcome;

/**
 * Plays a script: every simple command, variables expanded, goes to `run` in order; `run`
 * returns false for a command that fails like `false`, throws CommandFailed for one that fails
 * (a later `||` of the same list catches it, as a shell would), or a ScriptError to refuse it.
 */
export function playScript(text: string, run: Run): void {
  const statements = block(pieces(text), 0, undefined).body;
  play(statements, {}, run);
}

/** Plays statements; the outcome of the last one run (a shell's `$?`), or "exit". */
function play(statements: readonly Statement[], vars: Record<string, string>, run: Run): Outcome {
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

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const ASSIGNMENT = /^([A-Za-z_][A-Za-z0-9_]*)=/;
const DECLARE = new Set(["export", "readonly", "declare", "local", "typeset"]);
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
/** What `[ -x PATH ]` may ask of a firewall node and take as true: its tools and /proc. */
const KNOWN_PATH = /^\/(?:(?:usr\/)?(?:local\/)?s?bin\/[\w.+-]+|proc\/(?:sys\/)?net(?:\/[\w.*-]+)*)$/;

function simple(s: Piece, vars: Record<string, string>, run: Run): Outcome {
  // What needs a real shell is said before its words are looked at (`if [ "$1" = start ]`).
  const keyword = /^[^\s;&|<>()]+/.exec(s.text)?.[0] ?? "";
  if (SHELL_ONLY.has(keyword) || /^[A-Za-z_][\w-]*\s*\(\)/.test(s.text))
    throw new ScriptError(
      s.line,
      `shell "${/^[A-Za-z_][\w-]*\s*\(\)/.test(s.text) ? `${keyword}()` : keyword}" is not supported in a rules script: it is played, never run (iptables commands, VAR=value, ;, &&, ||, for loops); write the branch you mean`,
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
  if (name === "[" || name === "test") return fileTest(cmd.argv, s.line);
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

/**
 * `[ -x /sbin/iptables ] || exit 0`: the tools and /proc/sys/net are there in a firewall node;
 * anything else (`[ -f /var/run/fw.lock ]`) is the script's own state, which a played script
 * cannot know.
 */
function fileTest(argv: readonly string[], line: number): Outcome {
  const args = argv[0] === "[" ? argv.slice(1, argv.at(-1) === "]" ? -1 : undefined) : argv.slice(1);
  const negated = args[0] === "!";
  const [op, path] = negated ? args.slice(1) : args;
  if (args.length === (negated ? 3 : 2) && /^-[efdrx]$/.test(op ?? "") && KNOWN_PATH.test(path ?? ""))
    return !negated;
  throw new ScriptError(
    line,
    `"${argv.join(" ")}": a played script only knows the node's tools and /proc/sys/net (file tests such as [ -x /sbin/iptables ]); write the branch you mean`,
  );
}

/** The script's logical lines (continuations joined), cut into the pieces of each list. */
function pieces(text: string): Piece[] {
  const out: Piece[] = [];
  const raw = text.split(/\r?\n/);
  for (let i = 0; i < raw.length; i++) {
    const line = i + 1;
    let s = raw[i]!;
    // A backslash that is not itself escaped (an odd number of them) continues the line.
    while (/(?:^|[^\\])(?:\\\\)*\\$/.test(s) && !openQuote(s) && i + 1 < raw.length)
      s = s.slice(0, -1) + raw[++i];
    if (openQuote(s) === "'" || openQuote(s) === '"')
      throw new ScriptError(
        line,
        "a quote is left open at the end of the line: a played script keeps each quoted word on one line",
      );
    for (const p of splitList(s, line)) out.push(p);
  }
  return out;
}

/** The quote left open at the end of `s`, if any. */
function openQuote(s: string): string | undefined {
  let quote: string | undefined;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quote === "'") {
      if (c === "'") quote = undefined;
    } else if (c === "\\") i++;
    else if (c === '"') quote = quote ? undefined : '"';
    else if (c === "'" && !quote) quote = "'";
    else if (c === "#" && !quote && (i === 0 || /\s/.test(s[i - 1]!))) return undefined;
  }
  return quote;
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

/**
 * A simple command's raw words (quotes kept, nothing expanded yet), with its redirections and
 * any pipe taken out, in one pass that knows quotes as a shell does: `2>/dev/null` is a
 * redirection of fd 2, `echo 1 > f` writes a 1, `rule#1` is one word (a `#` starts a comment
 * only at a word's start, and splitList has taken those).
 */
function scan(text: string, line: number): { words: string[]; writesTo?: string; pipedInto?: string[] } {
  const out: string[] = [];
  let writesTo: string | undefined;
  let word = "";
  let inWord = false;
  let quote: string | undefined;
  let i = 0;
  const end = () => {
    if (inWord) out.push(word);
    word = "";
    inWord = false;
  };
  /** The next word, for a redirection's target: up to unquoted space or an operator. */
  const target = (): string => {
    while (/\s/.test(text[i] ?? "")) i++;
    let t = "";
    let q: string | undefined;
    for (; i < text.length; i++) {
      const c = text[i]!;
      if (!q && (/\s/.test(c) || "<>|&;".includes(c))) break;
      if (q === "'") q = c === "'" ? undefined : q;
      else if (c === "\\") t += c + (text[++i] ?? "");
      else if (c === '"') q = q ? undefined : '"';
      else if (c === "'" && !q) q = "'";
      if (c !== "\\") t += c;
    }
    if (!t) throw new ScriptError(line, "a redirection without a file after it");
    return t;
  };
  for (; i < text.length; i++) {
    const c = text[i]!;
    if (quote === "'") {
      word += c;
      if (c === "'") quote = undefined;
      continue;
    }
    if (c === "\\") {
      word += c + (text[i + 1] ?? "");
      inWord = true;
      i++;
      continue;
    }
    if (quote === '"') {
      if (c === "`" || (c === "$" && text[i + 1] === "(")) throw substitution(line, c);
      word += c;
      if (c === '"') quote = undefined;
      continue;
    }
    if (c === "'" || c === '"') {
      if (text[i - 1] === "$" && !/\\$/.test(text.slice(0, i - 1)))
        throw new ScriptError(
          line,
          `bash's $${c}...${c} quoting is not played (a rules script is played as sh): write the characters themselves`,
        );
      quote = c;
      word += c;
      inWord = true;
      continue;
    }
    if (c === "`" || (c === "$" && text[i + 1] === "(")) throw substitution(line, c);
    if (/\s/.test(c)) {
      end();
      continue;
    }
    const redirect = /^(&>|>>|>\||>&|>|<&|<<|<)/.exec(text.slice(i))?.[1];
    if (redirect) {
      // Digits alone right before it are its file descriptor (`2>`), not a word of the command.
      const fd = inWord && /^\d+$/.test(word) ? word : redirect === "&>" ? "1" : "";
      if (fd && inWord) {
        word = "";
        inWord = false;
      } else end();
      i += redirect.length;
      const t = target();
      i--;
      if (/^>(>|\|)?$|^&>$/.test(redirect) && (fd === "" || fd === "1")) writesTo = t;
      if (redirect === "<<")
        throw new ScriptError(line, "a here-document is not played: put its lines in the script");
      continue;
    }
    if (c === "|") {
      end();
      return { words: out, ...(writesTo ? { writesTo } : {}), pipedInto: pipeline(text.slice(i + 1), line) };
    }
    if (c === "&" || c === "(" || c === ")")
      throw new ScriptError(line, `shell operator "${c}" is not supported in a rules script`);
    // Unquoted and inside a word: a shell keeps it (`rule#1`); shell-quote would start a comment.
    word += c === "#" ? "\\#" : c;
    inWord = true;
  }
  end();
  return { words: out, ...(writesTo ? { writesTo } : {}) };
}

/** The commands after a pipe, as raw text each. */
function pipeline(rest: string, line: number): string[] {
  return rest.split("|").map((p) => {
    const t = p.trim();
    if (!t) throw new ScriptError(line, 'a "|" without a command after it');
    return t;
  });
}

function substitution(line: number, c: string): ScriptError {
  return new ScriptError(
    line,
    `command substitution ${c === "`" ? "`...`" : "$(...)"} is not supported in a rules script (it is played, never run): write the value itself`,
  );
}

/** A command's words as the shell would hand them to it: variables expanded, quotes removed. */
function words(text: string, vars: Record<string, string>, line: number): { argv: string[] } {
  const argv: string[] = [];
  const tokens = parseShell(expand(text, vars, line), (name) => {
    throw new ScriptError(line, `$${name} cannot be played here`);
  });
  for (const tok of tokens) {
    if (typeof tok === "string") argv.push(tok);
    // A glob stays a pattern: nothing is listed on this machine (a sysctl key may hold one).
    else if ("op" in tok && tok.op === "glob") argv.push(tok.pattern);
    else if ("comment" in tok) break;
    else throw new ScriptError(line, `shell operator "${tok.op}" is not supported in a rules script`);
  }
  return { argv };
}

/**
 * Replaces `$NAME`, `${NAME}`, `${NAME:-default}` and `${NAME-default}` outside single quotes.
 * Inside double quotes a value stays one word; outside, it splits on spaces as in a shell, and
 * nothing else in it is taken for shell syntax. A default is itself expanded, in place.
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
    i += m[0].length - 1;
    const name = (m[1] ?? m[4])!;
    const set = vars[name];
    if (m[2] !== undefined && (m[2] === ":-" ? !set : set === undefined)) {
      out += expand(m[3]!, vars, line);
      continue;
    }
    if (set === undefined)
      throw new ScriptError(line, `variable $${name} is not set (set it with ${name}=... above)`);
    out += quote ? set.replace(/["\\$`]/g, "\\$&") : set.replace(/[^\s\w@%+=:,./-]/g, "\\$&");
  }
  return out;
}
