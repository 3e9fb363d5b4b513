import { ScriptError } from "./script-error.ts";
import { type Piece, pieces } from "./script-words.ts";

/** A script's statements as sh parses them: simple commands, and the compound ones fwlab plays. */
export type Statement =
  | (Piece & { readonly kind: "simple" })
  | (Piece & { readonly kind: "group"; readonly body: Statement[] })
  | (Piece & { readonly kind: "function"; readonly name: string; readonly body: Statement[] })
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

/** What needs a real shell: refused wherever it stands, so a branch never taken cannot hide it. */
const SHELL_ONLY = new Set([
  "case",
  "esac",
  "while",
  "until",
  "function",
  "select",
  "eval",
  "source",
  ".",
  "break",
  "continue",
  "trap",
  "shift",
  "getopts",
]);
/** The keywords that close what `for`, `if` and `{` open. */
const CLOSERS = new Set(["done", "then", "elif", "else", "fi", "}"]);
const openerOf = (closer: string) => (closer === "done" ? "for" : closer === "}" ? "{" : "if");

interface Opener {
  readonly piece: Piece;
  readonly keyword: string;
  readonly closers: readonly string[];
}

/** A script's statements; what a played script cannot do is refused here, with its line. */
export function statements(text: string): Statement[] {
  return block(pieces(text), 0, undefined).body;
}

/**
 * Statements from `from` up to one of the opener's closers (the `done` of a `for`, the `then` of
 * a condition, the `elif`/`else`/`fi` of a branch, the `}` of a group), or to the end of the
 * script without one. Returns the closing piece too (its joins are the compound command's).
 */
function block(
  all: readonly Piece[],
  from: number,
  opener: Opener | undefined,
): { body: Statement[]; next: number; closer?: Piece } {
  const body: Statement[] = [];
  let i = from;
  while (i < all.length) {
    const p = all[i]!;
    // `done 2>/dev/null`: a redirection of the whole compound changes nothing a ruleset sees.
    const word = /^(\S+?)(?:\s*(?:[<>|]|\d>).*)?$/s.exec(p.text)?.[1] ?? p.text;
    if (CLOSERS.has(word)) {
      if (opener?.closers.includes(word)) return { body, next: i + 1, closer: { ...p, text: word } };
      throw new ScriptError(
        p.line,
        opener
          ? `"${word}" where "${opener.closers.join('" or "')}" was expected (for the "${opener.keyword}" on line ${opener.piece.line})`
          : `"${word}" without the "${openerOf(word)}" it closes`,
      );
    }
    if (p.text === "if") {
      const parsed = ifStatement(all, i);
      body.push(parsed.statement);
      i = parsed.next;
      continue;
    }
    // `name() {` or `function name {`: a function, its body a group (keywordsApart split it).
    const fn = /^(?:function\s+([A-Za-z_][\w-]*)\s*(?:\(\))?|([A-Za-z_][\w-]*)\s*\(\))$/.exec(p.text);
    if (fn && all[i + 1]?.text === "{") {
      const name = (fn[1] ?? fn[2])!;
      const inner = block(all, i + 2, { piece: p, keyword: `${name}()`, closers: ["}"] });
      body.push({ ...p, joins: inner.closer!.joins, kind: "function", name, body: inner.body });
      i = inner.next;
      continue;
    }
    if (p.text === "{") {
      const inner = block(all, i + 1, { piece: p, keyword: "{", closers: ["}"] });
      body.push({ ...p, joins: inner.closer!.joins, kind: "group", body: inner.body });
      i = inner.next;
      continue;
    }
    const loop = /^for\s+([A-Za-z_][A-Za-z0-9_]*)(?:\s+in\s+(.*)|\s*)$/s.exec(p.text);
    if (loop) {
      if (loop[2] === undefined)
        throw new ScriptError(
          p.line,
          `"for ${loop[1]}" without "in words": a played script has no arguments to loop over`,
        );
      if (all[i + 1]?.text !== "do") throw new ScriptError(p.line, `"for ${loop[1]} in ..." without "do"`);
      const inner = block(all, i + 2, { piece: p, keyword: "for", closers: ["done"] });
      body.push({
        ...p,
        joins: inner.closer!.joins,
        kind: "for",
        name: loop[1]!,
        words: loop[2],
        body: inner.body,
      });
      i = inner.next;
      continue;
    }
    refuseShellOnly(p);
    body.push({ ...p, kind: "simple" });
    i++;
  }
  if (opener)
    throw new ScriptError(opener.piece.line, `"${opener.keyword}" without its "${opener.closers.at(-1)}"`);
  return { body, next: i };
}

/** `if LIST; then LIST; [elif LIST; then LIST;]... [else LIST;] fi`, from the `if` piece at `at`. */
function ifStatement(all: readonly Piece[], at: number): { statement: Statement; next: number } {
  const opening = all[at]!;
  const branches: { condition: Statement[]; body: Statement[] }[] = [];
  let from = at + 1;
  let keyword = opening;
  for (;;) {
    const condition = block(all, from, { piece: keyword, keyword: keyword.text, closers: ["then"] });
    if (condition.body.length === 0)
      throw new ScriptError(keyword.line, `"${keyword.text}" without a condition`);
    const body = block(all, condition.next, {
      piece: opening,
      keyword: "if",
      closers: ["elif", "else", "fi"],
    });
    // sh refuses an empty body (`then fi`): a played script does too, rather than guess.
    if (body.body.length === 0)
      throw new ScriptError(condition.closer!.line, `"then" without a command before "${body.closer!.text}"`);
    branches.push({ condition: condition.body, body: body.body });
    const closer = body.closer!;
    if (closer.text === "elif") {
      from = body.next;
      keyword = closer;
      continue;
    }
    if (closer.text === "else") {
      const orElse = block(all, body.next, { piece: opening, keyword: "if", closers: ["fi"] });
      if (orElse.body.length === 0)
        throw new ScriptError(closer.line, '"else" without a command before "fi"');
      return {
        statement: { ...opening, joins: orElse.closer!.joins, kind: "if", branches, orElse: orElse.body },
        next: orElse.next,
      };
    }
    return { statement: { ...opening, joins: closer.joins, kind: "if", branches }, next: body.next };
  }
}

function refuseShellOnly(p: Piece): void {
  const keyword = /^[^\s;&|<>()]+/.exec(p.text)?.[0] ?? "";
  const fn = /^[A-Za-z_][\w-]*\s*\(\)/.test(p.text);
  if (p.text.startsWith("("))
    throw new ScriptError(
      p.line,
      'a subshell "( ... )" is not played in a rules script: write its commands in the script itself',
    );
  if (SHELL_ONLY.has(keyword) || fn)
    throw new ScriptError(
      p.line,
      `shell "${fn ? `${keyword}()` : keyword}" is not supported in a rules script: it is played, never run (iptables commands, VAR=value, ;, &&, ||, !, for, if, { }); write the branch you mean`,
    );
}
