import { parse as parseShell } from "shell-quote";
import { ScriptError } from "./script-error.ts";
import { toolPath } from "./script-test.ts";

/**
 * The words of a rules script as a shell reads them, without running anything: its lists cut
 * into pieces (`;`, `&&`, `||`, continuations joined, comments dropped), a command's raw words
 * with its redirections and pipes taken out, and its words expanded (variables, quotes). Each
 * scan knows quotes as sh does and stops at different things, so each is its own loop.
 */

/** How the player keeps a function's arguments in one variable (`@`): none holds this character. */
export const ARGS = "\u0000";

/** A piece of a list, with the line it starts on. */
export interface Piece {
  readonly line: number;
  readonly text: string;
  /** How it joins the next piece: `;` (or the line's end), `&&`, `||`. */
  readonly joins: ";" | "&&" | "||";
}

/** The script's logical lines (continuations joined), cut into the pieces of each list. */
export function pieces(text: string): Piece[] {
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
  // Keywords that open a body or a condition share their line with what follows: `do iptables
  // ...`, `if [ -x /sbin/iptables ]`.
  return out.flatMap(keywordsApart);
}

/** `then if [ -x ... ]` is two keywords and a command: each its own piece, in order. */
function keywordsApart(p: Piece): Piece[] {
  // `name() { iptables ...`: the header, then the group's `{` and its first command.
  const header = /^((?:function\s+)?[A-Za-z_][\w-]*\s*\(\)|function\s+[A-Za-z_][\w-]*)\s*(\{.*)$/s.exec(
    p.text,
  );
  if (header) return [{ ...p, text: header[1]!, joins: ";" }, ...keywordsApart({ ...p, text: header[2]! })];
  const m = /^(do|then|else|if|elif|\{)\s+(.*)$/s.exec(p.text);
  return m ? [{ ...p, text: m[1]!, joins: ";" }, ...keywordsApart({ ...p, text: m[2]! })] : [p];
}

/**
 * A simple command's raw words (quotes kept, nothing expanded yet), with its redirections and
 * any pipe taken out, in one pass that knows quotes as a shell does: `2>/dev/null` is a
 * redirection of fd 2, `echo 1 > f` writes a 1, `rule#1` is one word (a `#` starts a comment
 * only at a word's start, and splitList has taken those).
 */
export function scan(
  text: string,
  line: number,
): { words: string[]; writesTo?: string; pipedInto?: string[] } {
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
      if (c === "`" || (c === "$" && text[i + 1] === "(")) {
        const sub = substituted(text, i, line);
        word += sub.value;
        i = sub.end;
        continue;
      }
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
    if (c === "`" || (c === "$" && text[i + 1] === "(")) {
      const sub = substituted(text, i, line);
      word += sub.value;
      inWord = true;
      i = sub.end;
      continue;
    }
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

/**
 * A command substitution starting at `text[at]` (`$(` or a backquote): only a tool's path is
 * played (`IPT=$(which iptables)`, `` `command -v ip6tables` ``), answered as a firewall node
 * would; anything else would run a command, and is refused. Returns its value and where it ends.
 */
function substituted(text: string, at: number, line: number): { value: string; end: number } {
  const backquote = text[at] === "`";
  const start = at + (backquote ? 1 : 2);
  const end = text.indexOf(backquote ? "`" : ")", start);
  const inner = end < 0 ? "" : text.slice(start, end);
  const m = /^\s*(which|command\s+-v)\s+([\w./+-]+)\s*$/.exec(inner);
  if (!m)
    throw new ScriptError(
      line,
      `command substitution ${backquote ? "`...`" : "$(...)"} is not supported in a rules script (it is played, never run; only a tool's path, $(which iptables) or $(command -v nft), is): write the value itself`,
    );
  return { value: toolPath(m[2]!, m[1] === "which" ? "which" : "command -v"), end };
}

/** A command's words as the shell would hand them to it: variables expanded, quotes removed. */
export function words(
  text: string,
  vars: Record<string, string>,
  line: number,
  /** An unset variable is empty (in a test); elsewhere it is refused, as a likely typo. */
  unsetIsEmpty = false,
  /** An assignment's value: expansions keep their spaces (sh splits no assignment). */
  keepSpaces = false,
): { argv: string[] } {
  const argv: string[] = [];
  const tokens = parseShell(expand(text, vars, line, unsetIsEmpty, keepSpaces), (name) => {
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
function expand(
  text: string,
  vars: Record<string, string>,
  line: number,
  unsetIsEmpty: boolean,
  /** An assignment's value: sh splits no word there, so a value's spaces stay. */
  keepSpaces = false,
): string {
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
    const m = /^\$(?:\{([A-Za-z_][A-Za-z0-9_]*|[1-9#@*?])(?:(:?-)([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))/.exec(
      rest,
    );
    // `${1:-ACCEPT}`, `${2-x}`: an argument with its default, as a name's (below).
    if (m && m[2] !== undefined && /^[1-9#@*?]$/.test(m[1]!)) {
      i += m[0].length - 1;
      const set = vars[m[1]!];
      out +=
        set === undefined || (m[2] === ":-" && !set)
          ? expand(m[3]!, vars, line, unsetIsEmpty, keepSpaces)
          : escaped(set.split(ARGS).join(" "), !!quote, keepSpaces);
      continue;
    }
    if (!m) {
      const special = /^\$(\{[^}]*\}|[0-9@*#?$!-])/.exec(rest);
      // `$?` (the status of the command before), and in a function its arguments (`$1`, `$#`,
      // `$@`): the player keeps them among the variables (script-shell.ts).
      const key = special?.[1]?.replace(/^\{(.*)\}$/, "$1");
      const value = key !== undefined && /^([1-9#?@*])$/.test(key) ? vars[key] : undefined;
      if (value !== undefined) {
        i += special![0].length - 1;
        if (key === "@" || key === "*") {
          // Each argument a word of its own; "$@" keeps each one whole (a shell's "$1" "$2" ...).
          const args = value === "" ? [] : value.split(ARGS);
          // "$@" with no arguments is no word at all, not an empty one: its quotes go too.
          if (quote && key === "@" && args.length === 0 && out.endsWith('"') && text[i + 1] === '"') {
            out = out.slice(0, -1);
            quote = undefined;
            i++;
            continue;
          }
          out += args.map((a) => escaped(a, !!quote, keepSpaces)).join(quote && key === "@" ? '" "' : " ");
        } else out += escaped(value, !!quote, keepSpaces);
        continue;
      }
      if (special)
        throw new ScriptError(
          line,
          `$${special[1]} is not supported here in a rules script (it is played, never run: no script arguments; $1.. only in a function, $? right after a command)`,
        );
      out += c;
      continue;
    }
    i += m[0].length - 1;
    const name = (m[1] ?? m[4])!;
    const set = vars[name];
    if (m[2] !== undefined && (m[2] === ":-" ? !set : set === undefined)) {
      out += expand(m[3]!, vars, line, unsetIsEmpty, keepSpaces);
      continue;
    }
    if (set === undefined && !unsetIsEmpty)
      throw new ScriptError(line, `variable $${name} is not set (set it with ${name}=... above)`);
    // Unset and unquoted, a word of nothing: `[ -n $X ]` is `[ -n ]`, as in sh.
    if (set === undefined) continue;
    out += escaped(set, !!quote, keepSpaces);
  }
  return out;
}

/**
 * A value as expansion leaves it for the word parser: inside double quotes one word; outside,
 * split on spaces as in a shell, and nothing else in it taken for shell syntax.
 */
function escaped(value: string, quoted: boolean, keepSpaces: boolean): string {
  if (quoted) return value.replace(/["\\$`]/g, "\\$&");
  return keepSpaces ? value.replace(/[^\w@%+=:,./-]/g, "\\$&") : value.replace(/[^\s\w@%+=:,./-]/g, "\\$&");
}
