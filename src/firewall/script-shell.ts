import { CommandFailed, ScriptError } from "./script-error.ts";
import { type Statement, statements } from "./script-statements.ts";
import { hasTool, testCommand } from "./script-test.ts";
import { ARGS, type Piece, scan, words } from "./script-words.ts";

/** A simple command of the script, its words expanded, and the script line it starts on. */
export interface ScriptCommand {
  readonly argv: readonly string[];
  readonly line: number;
  /** Where its standard output went (`echo 1 > /proc/sys/net/ipv4/ip_forward`): the last target. */
  readonly writesTo?: string;
  /** The commands its output is piped into (`iptables-save | grep ...`), their first words. */
  readonly pipedInto?: readonly string[];
  /**
   * Its exit status decides what runs next (an `if`'s condition, `!`, `&&`, `|| cmd`): a command
   * whose status a played script cannot know (`systemctl is-active`, a pipe into grep) is refused.
   */
  readonly tested?: boolean;
  /** A failure of it lets the script go on (`|| true`, an `if` condition, `{ ...; } || true`). */
  readonly caught?: boolean;
}

/** What a played command did: true (done), false (failed as `false` does), "exit", "return" (from a function). */
export type Outcome = boolean | "exit" | "return";

type Run = (cmd: ScriptCommand) => Outcome;

/**
 * Plays a rules script as sh would run it, without running anything: what firewall scripts in
 * the wild use around their iptables lines (distribution examples, hardening guides, the classic
 * rc.firewall DMZ scripts). Variables (`NAME=value`, `export A=1 B=2`, `readonly`, `unset`,
 * `$NAME`, `${NAME}`, `${NAME:-default}`; unquoted values split into words as a shell splits
 * them), lists (`;`, `&&`, `||`, `!`, with a shell's exit statuses), `for NAME in words; do ...;
 * done`, `if ...; then ...; elif ...; else ...; fi`, `{ ...; }` (nested, on one line or several),
 * functions (`allow() { iptables ... $1; }`, `return N`), `$?`, tests (script-test.ts),
 * redirections (dropped: `2>/dev/null`; `echo 1 > /proc/sys/...` is a kernel setting), `exit`.
 * What needs a real shell or the machine (`case`, `while`, the script's own arguments, command
 * substitution, bash's `$'...'`) is refused with its line, wherever it stands, never guessed. Compared with dash by running the same scripts through it.
 *
 * Every simple command, its words expanded, goes to `run` in order; `run` returns false for a
 * command that fails like `false`, throws CommandFailed for one that fails (caught where a shell
 * would go on: before a `||` of its list, in an `if`'s condition, anywhere in a compound command
 * whose own status is caught, `{ ...; } || true`, or under `!`), or a ScriptError to refuse
 * it. Elsewhere a failed command fails the whole script, with its line: a ruleset half loaded
 * is no ruleset. Says where the script exited, if it did.
 */
export function playScript(
  text: string,
  run: Run,
): { readonly exitedAt?: number; readonly exitStatus?: number } {
  // Played with no arguments: "$@" is nothing, $# is 0 (`main "$@"`); $1 itself is refused.
  const vars = { "?": "0", "#": "0", "@": "", "*": "" };
  const env: Env = { vars, run, functions: new Map(), depth: 0, frames: [] };
  play(statements(text), env, { caught: false, tested: false });
  return env.exitedAt === undefined ? {} : { exitedAt: env.exitedAt, exitStatus: env.exitStatus ?? 0 };
}

interface Env {
  readonly vars: Record<string, string>;
  readonly run: Run;
  /** The functions defined so far, and how deep the calls are. */
  readonly functions: Map<string, readonly Statement[]>;
  depth: number;
  /** The statement just played was a call that returned its own status into `$?`. */
  returned?: boolean;
  /** The line of the `exit` the script reached, if it did, and the status it exits with. */
  exitedAt?: number;
  exitStatus?: number;
  /** Per function call, the caller's values of the names it made `local`. */
  readonly frames: Map<string, string | undefined>[];
}

interface Context {
  /** A failure here counts as false rather than failing the script. */
  readonly caught: boolean;
  /** The status of these statements (their last one's) decides what runs next. */
  readonly tested: boolean;
}

/** Plays statements; the outcome of the last one run (a shell's `$?`), or "exit". */
function play(list: readonly Statement[], env: Env, ctx: Context): Outcome {
  let status = true;
  let skip = false;
  for (let i = 0; i < list.length; i++) {
    const s = list[i]!;
    if (!skip) {
      const next = list[i + 1];
      // `iptables -N X 2>/dev/null; if [ $? -ne 0 ]; then ...`: the next statement asks for this
      // one's status, so a failure here is the script's to handle, as with `||`.
      const asked = next !== undefined && readsStatus(next);
      // The left of `&&` is tested, never fatal (not even under sh's set -e): `iptables -C ... &&
      // return 0` is how a script asks whether a rule is there.
      const caught = ctx.caught || orFollows(list, i) || s.joins === "&&" || asked;
      const tested =
        asked ||
        (ctx.tested && i === list.length - 1) ||
        (s.joins !== ";" && !(s.joins === "||" && next?.kind === "simple" && /^(true|:)$/.test(next.text)));
      let outcome: Outcome;
      try {
        outcome = statement(s, env, { caught, tested });
      } catch (err) {
        // A failure the list handles (`iptables -N X || iptables -F X`, `... || true`).
        if (!(err instanceof CommandFailed) || !caught) throw err;
        outcome = false;
      }
      if (outcome === "exit" || outcome === "return") return outcome;
      status = outcome;
      // `return N` left its own N (status()); anything else is 0 or 1, as far as a player knows.
      if (!(s.kind === "simple" && env.returned)) env.vars["?"] = status ? "0" : "1";
      env.returned = false;
    }
    // `a && b`: b only if a did; `a || b`: b only if a failed; `;` runs the next in any case.
    skip = s.joins === "&&" ? !status : s.joins === "||" ? status : false;
  }
  return status;
}

/** One statement; a compound one's body has its context (a `{ ...; } || true` catches inside too). */
function statement(s: Statement, env: Env, ctx: Context): Outcome {
  switch (s.kind) {
    case "simple":
      return simple(s, env, ctx);
    case "group":
      return play(s.body, env, ctx);
    case "function":
      env.functions.set(s.name, s.body);
      return true;
    case "for": {
      let status: Outcome = true;
      // Its words as a command's are (`$(seq 1 5)` refused as command substitution, with the line).
      for (const word of words(scan(s.words, s.line).words.join(" "), env.vars, s.line).argv) {
        env.vars[s.name] = word;
        status = play(s.body, env, ctx);
        if (status === "exit" || status === "return") return status;
      }
      return status;
    }
    case "if": {
      for (const branch of s.branches) {
        const met = play(branch.condition, env, { caught: true, tested: true });
        if (met === "exit" || met === "return") return met;
        if (met) return play(branch.body, env, ctx);
      }
      // No branch taken and no else: the if's status is 0, as sh's.
      return s.orElse ? play(s.orElse, env, ctx) : true;
    }
  }
}

/** Does the statement's first command read `$?` (the status of the one before it)? */
function readsStatus(s: Statement): boolean {
  switch (s.kind) {
    case "simple":
      return /\$(?:\?|\{\?\})/.test(s.text);
    case "if":
      return readsStatus(s.branches[0]!.condition[0]!);
    case "group":
    case "for":
      return s.body[0] !== undefined && readsStatus(s.body[0]);
    case "function":
      return false;
  }
}

function orFollows(list: readonly Statement[], i: number): boolean {
  for (let k = i; k < list.length && list[k]!.joins !== ";"; k++) if (list[k]!.joins === "||") return true;
  return false;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const ASSIGNMENT = /^([A-Za-z_][A-Za-z0-9_]*)=/;
const DECLARE = new Set(["export", "readonly", "declare", "local", "typeset"]);

function simple(s: Piece, env: Env, ctx: Context): Outcome {
  const { vars, run } = env;
  const { caught, tested } = ctx;
  // `! cmd`: its status inverted (a failure it turns into success is caught here, as sh does).
  const bang = /^!\s+(.*)$/s.exec(s.text);
  if (bang) {
    let outcome: Outcome;
    try {
      outcome = simple({ ...s, text: bang[1]! }, env, { caught: true, tested: true });
    } catch (err) {
      if (!(err instanceof CommandFailed)) throw err;
      outcome = false;
    }
    return outcome === "exit" || outcome === "return" ? outcome : !outcome;
  }
  const raw = scan(s.text, s.line);
  const first = raw.words[0] ?? "";
  if (DECLARE.has(first)) {
    // `export A=1 B=2`, `readonly LAN`: each NAME=value is set; flags and bare names change
    // nothing here. In a function, `local` keeps the caller's value to put back at its return.
    const frame = first === "local" ? env.frames.at(-1) : undefined;
    for (const w of raw.words.slice(1)) {
      const local = /^[A-Za-z_][A-Za-z0-9_]*/.exec(w)?.[0];
      if (frame && local && !frame.has(local)) frame.set(local, vars[local]);
      if (ASSIGNMENT.test(w)) assign(w, vars, s.line);
      else if (frame && local) delete vars[local];
    }
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
    // `unset -f name` forgets a function; `unset NAME` (or -v) a variable.
    const functions = raw.words[1] === "-f";
    for (const w of raw.words.slice(1))
      if (NAME.test(w)) {
        if (functions) env.functions.delete(w);
        else delete vars[w];
      }
    return true;
  }
  // A test asks whether a variable is set (`[ -n "$WAN_IF" ]`): there, unset is empty, as in sh.
  const test = raw.words[n] === "[" || raw.words[n] === "test";
  const expanded = words(raw.words.slice(n).join(" "), vars, s.line, test);
  // `command iptables ...` (a wrapper function calling the tool past itself) is the tool.
  const viaCommand =
    expanded.argv[0] === "command" && expanded.argv[1] !== undefined && !expanded.argv[1].startsWith("-");
  const cmd = viaCommand ? { argv: expanded.argv.slice(1) } : expanded;
  const writesTo = raw.writesTo && words(raw.writesTo, vars, s.line).argv[0];
  const [name] = cmd.argv;
  if (name === undefined) return true;
  if (name === "set" && cmd.argv.slice(1).some((a) => !/^[-+][a-zA-Z]+$/.test(a) && a !== "-o" && a !== "+o"))
    throw new ScriptError(
      s.line,
      `"set ${cmd.argv.slice(1).join(" ")}" would change the arguments: not played in a rules script (set -e, set -u are)`,
    );
  if (/^(set|shopt|umask|true|:)$/.test(name)) return true;
  if (name === "false") return false;
  if (name === "return" && env.depth > 0) return status(cmd.argv[1], env);
  if (name === "exit" || name === "return") {
    env.exitedAt = s.line;
    const code = cmd.argv[1];
    env.exitStatus = code === undefined ? Number(vars["?"] ?? 0) : /^\d+$/.test(code) ? Number(code) : 2;
    return "exit";
  }
  const fn = viaCommand ? undefined : env.functions.get(name);
  if (fn) {
    if (raw.pipedInto)
      throw new ScriptError(
        s.line,
        `${name} into a pipe: a function's output is not played (a subshell's neither); write its rules in the script`,
      );
    // `PORT=22 allow`: the assignments hold for the call only, as in sh.
    const before = raw.words.slice(0, n).map((w) => w.slice(0, w.indexOf("=")));
    const kept = before.map((k) => [k, vars[k]] as const);
    for (const w of raw.words.slice(0, n)) assign(w, vars, s.line);
    try {
      return call(fn, cmd.argv, s.line, env, ctx);
    } finally {
      putBack(vars, kept);
    }
  }
  if (test) return testCommand(cmd.argv, s.line);
  // `command -v ip6tables >/dev/null`, `which ipset`: the tools of a firewall node.
  if ((name === "command" && cmd.argv[1] === "-v") || name === "which" || name === "type")
    return cmd.argv.slice(name === "command" ? 2 : 1).every(hasTool);
  return run({
    argv: cmd.argv,
    line: s.line,
    ...(writesTo !== undefined ? { writesTo } : {}),
    ...(raw.pipedInto ? { pipedInto: raw.pipedInto.map((p) => words(p, vars, s.line).argv[0] ?? "") } : {}),
    ...(tested ? { tested } : {}),
    ...(caught ? { caught } : {}),
  });
}

/**
 * A function called with its arguments (`$1`.., `$#`, `$@` in its body), as sh calls one: the
 * caller's own come back after it; `return N` ends it with that status.
 */
function call(
  body: readonly Statement[],
  argv: readonly string[],
  line: number,
  env: Env,
  ctx: Context,
): Outcome {
  if (env.depth >= 50)
    throw new ScriptError(line, `${argv[0]}: functions called 50 deep; a played script stops there`);
  const keys = ["#", "@", "*", ...Array.from({ length: 9 }, (_, k) => String(k + 1))];
  const saved = keys.map((k) => [k, env.vars[k]] as const);
  for (const k of keys) delete env.vars[k];
  const args = argv.slice(1);
  env.vars["#"] = String(args.length);
  env.vars["@"] = env.vars["*"] = args.join(ARGS);
  // Past $#, an argument is empty, as in sh (`[ -n "$2" ]` asks exactly that).
  for (let k = 0; k < 9; k++) env.vars[String(k + 1)] = args[k] ?? "";
  env.depth++;
  env.frames.push(new Map());
  try {
    const outcome = play(body, env, ctx);
    if (outcome !== "return") return outcome;
    env.returned = true;
    return env.vars["?"] === "0";
  } finally {
    env.depth--;
    putBack(env.vars, env.frames.pop()!);
    putBack(env.vars, saved);
  }
}

/** Variables as they were before a call (undefined: it was not set). */
function putBack(vars: Record<string, string>, was: Iterable<readonly [string, string | undefined]>): void {
  for (const [k, v] of was) {
    if (v === undefined) delete vars[k];
    else vars[k] = v;
  }
}

/** `return N`: its status kept in `$?` (0 is success); without N, the status of the command before. */
function status(n: string | undefined, env: Env): "return" {
  if (n !== undefined) env.vars["?"] = /^\d+$/.test(n) ? String(Number(n) % 256) : "2";
  return "return";
}

/** `NAME=value`: the value expanded, not split (a shell splits no assignment). */
function assign(word: string, vars: Record<string, string>, line: number): void {
  const at = word.indexOf("=");
  vars[word.slice(0, at)] = words(word.slice(at + 1), vars, line, false, true).argv.join(" ");
}
