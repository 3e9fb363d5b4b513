import { ScriptError } from "./script-error.ts";

/** What `[ -x PATH ]` may ask of a firewall node and take as true: its tools and /proc/sys/net. */
const KNOWN_PATH = /^\/(?:(?:usr\/)?(?:local\/)?s?bin\/[\w.+-]+|proc\/(?:sys\/)?net(?:\/[\w.*-]+)*)$/;
const INTEGER = /^-?\d+$/;
const COMPARE: Record<string, (a: number, b: number) => boolean> = {
  "-eq": (a, b) => a === b,
  "-ne": (a, b) => a !== b,
  "-lt": (a, b) => a < b,
  "-le": (a, b) => a <= b,
  "-gt": (a, b) => a > b,
  "-ge": (a, b) => a >= b,
};

/**
 * The `[` (or `test`) builtin on words already expanded, as sh evaluates one expression:
 * strings (`[ "$IPV6" = yes ]`, `-n`, `-z`, `!=`), integers (`-eq`, `-lt`, ...), `!`, and file
 * tests on what a firewall node has (`[ -x /sbin/iptables ]`, `[ -f /proc/sys/net/...]`).
 * Anything else (`[ -f /var/run/fw.lock ]`: the script's own state; `-a`/`-o`) is refused with
 * its line: a played script cannot know it, and a guess would load rules nobody wrote.
 */
export function testCommand(argv: readonly string[], line: number): boolean {
  const bracket = argv[0] === "[";
  if (bracket && argv.at(-1) !== "]") throw new ScriptError(line, `"${argv.join(" ")}": "[" without its "]"`);
  const args = argv.slice(1, bracket ? -1 : undefined);
  const negated = args[0] === "!" && args.length > 1;
  const result = evaluate(negated ? args.slice(1) : args);
  if (result === undefined)
    throw new ScriptError(
      line,
      `"${argv.join(" ")}": a played script tests strings, integers and the node's tools and /proc/sys/net (such as [ -x /sbin/iptables ]), one expression each; write the branch you mean`,
    );
  return negated ? !result : result;
}

function evaluate(args: readonly string[]): boolean | undefined {
  const [a, op, b] = args;
  if (args.length === 0) return false;
  if (args.length === 1) return a !== "";
  if (args.length === 2) {
    if (a === "-n") return op !== "";
    if (a === "-z") return op === "";
    if (/^-[efdrxs]$/.test(a!) && KNOWN_PATH.test(op!)) return true;
    return undefined;
  }
  if (args.length !== 3) return undefined;
  if (op === "=" || op === "==") return a === b;
  if (op === "!=") return a !== b;
  const compare = COMPARE[op!];
  if (compare && INTEGER.test(a!) && INTEGER.test(b!)) return compare(Number(a), Number(b));
  return undefined;
}
