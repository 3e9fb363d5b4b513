import { ScriptError } from "./script-error.ts";

/**
 * The tools of fwlab's firewall image (images/firewall), as `[ -x /sbin/NAME ]`, `command -v
 * NAME` and `which NAME` find them in a node; modprobe and friends count as there, since a
 * played script's module loads are no-ops (the kernel loads what a rule needs). Anything else
 * (ufw, firewall-cmd, fail2ban-client) is not there, as in the node.
 */
const NODE_TOOLS = new Set([
  ...["iptables", "ip6tables"].flatMap((t) =>
    [
      "",
      "-save",
      "-restore",
      "-nft",
      "-nft-save",
      "-nft-restore",
      "-legacy",
      "-legacy-save",
      "-legacy-restore",
    ].map((s) => t + s),
  ),
  ...["xtables-nft-multi", "xtables-legacy-multi", "nft", "ipset", "ebtables", "arptables", "conntrack"],
  ...["ip", "tc", "ss", "sysctl", "modprobe", "insmod", "rmmod", "depmod", "logger", "sh", "echo", "printf"],
]);
/** The trees of /proc/sys/net in a node's own namespace (net/bridge is the host kernel's to have). */
const NET_TREES = new Set(["core", "ipv4", "ipv6", "netfilter", "unix", "mptcp"]);
const INTEGER = /^\s*[-+]?\d+\s*$/;
const COMPARE: Record<string, (a: number, b: number) => boolean> = {
  "-eq": (a, b) => a === b,
  "-ne": (a, b) => a !== b,
  "-lt": (a, b) => a < b,
  "-le": (a, b) => a <= b,
  "-gt": (a, b) => a > b,
  "-ge": (a, b) => a >= b,
};
const STRINGS: Record<string, (a: string, b: string) => boolean> = {
  "=": (a, b) => a === b,
  // bash's; dash calls it an error. Scripts that write it are bash scripts, and mean `=`.
  "==": (a, b) => a === b,
  "!=": (a, b) => a !== b,
};

/** Where a firewall node has its tools: /usr/sbin, but for these. */
const IN_USR_BIN = new Set(["ss", "logger", "sh"]);
const BUILTINS = new Set(["echo", "printf"]);

/**
 * What `$(command -v NAME)` or `$(which NAME)` gives in a firewall node: the tool's path, a
 * builtin's name, nothing for a tool it lacks. Scripts write `IPT=$(which iptables)`.
 */
export function toolPath(name: string, asked: "command -v" | "which"): string {
  const bare = name.replace(/^(?:\/usr)?\/s?bin\//, "");
  if (!hasTool(bare)) return "";
  if (BUILTINS.has(bare)) return asked === "which" ? `/usr/bin/${bare}` : bare;
  return `${IN_USR_BIN.has(bare) ? "/usr/bin" : "/usr/sbin"}/${bare}`;
}

/** `command -v NAME`, `which NAME`, `type NAME`: is it a tool the node has? */
export function hasTool(name: string): boolean {
  return NODE_TOOLS.has(name.replace(/^(?:\/usr)?\/s?bin\//, ""));
}

/**
 * The `[` (or `test`) builtin on words already expanded, as sh evaluates one expression:
 * strings (`[ "$IPV6" = yes ]`, `-n`, `-z`, `!=`), integers (`-eq`, `-lt`, ...), `!`, and file
 * tests on what a firewall node has (its tools, /proc/sys/net). Anything else (`[ -f
 * /var/run/fw.lock ]`: the script's own state; an interface's /proc/sys/net/ipv4/conf/eth0: the
 * lab's) is refused with its line: a played script cannot know it, and a guess would load
 * rules nobody wrote. Expressions joined by `-a` and `-o` are each decided so.
 */
export function testCommand(argv: readonly string[], line: number): boolean {
  const bracket = argv[0] === "[";
  if (bracket && argv.at(-1) !== "]") throw new ScriptError(line, `"${argv.join(" ")}": "[" without its "]"`);
  const args = argv.slice(1, bracket ? -1 : undefined);
  const result = evaluate(args);
  if (result === undefined)
    throw new ScriptError(
      line,
      `"${argv.join(" ")}": a played script tests strings, integers and what a firewall node has (its tools, such as [ -x /sbin/iptables ], and /proc/sys/net but not an interface's own entries), joined by -a and -o; write the branch you mean`,
    );
  return result;
}

function evaluate(args: readonly string[]): boolean | undefined {
  const [a, op, b] = args as [string, string, string];
  switch (args.length) {
    case 0:
      return false;
    case 1:
      return a !== "";
    case 2:
      if (a === "!") return op === "";
      if (a === "-n") return op !== "";
      if (a === "-z") return op === "";
      return /^-[edfrxs]$/.test(a) ? fileTest(a, op) : undefined;
    case 3: {
      // As POSIX says: a binary operator in the middle decides first (`[ "$A" = "!" ]`).
      if (op === "-a" || op === "-o") return connected(args);
      const strings = STRINGS[op];
      if (strings) return strings(a, b);
      const compare = COMPARE[op];
      if (compare) return INTEGER.test(a) && INTEGER.test(b) ? compare(Number(a), Number(b)) : undefined;
      if (a === "!") {
        const inner = evaluate(args.slice(1));
        return inner === undefined ? undefined : !inner;
      }
      return undefined;
    }
    case 4: {
      if (a !== "!") return undefined;
      const inner = evaluate(args.slice(1));
      return inner === undefined ? undefined : !inner;
    }
    default:
      return connected(args);
  }
}

/**
 * Expressions joined by `-a` and `-o` (`[ -x /sbin/iptables -a -x /sbin/ip6tables ]`), `-a`
 * binding closer, each one as `evaluate` takes it; undefined when one of them cannot be
 * decided, or the words are no such list.
 */
function connected(args: readonly string[]): boolean | undefined {
  let i = 0;
  const primary = (): boolean | undefined => {
    if (args[i] === "!") {
      i++;
      const v = primary();
      return v === undefined ? undefined : !v;
    }
    const take = (n: number) => {
      const v = i + n <= args.length ? evaluate(args.slice(i, i + n)) : undefined;
      i += n;
      return v;
    };
    const next = args[i + 1];
    if (next !== undefined && (STRINGS[next] || COMPARE[next])) return take(3);
    if (/^-[nzedfrxs]$/.test(args[i] ?? "") && next !== undefined && next !== "-a" && next !== "-o")
      return take(2);
    return take(1);
  };
  const all = (): boolean | undefined => {
    let v = primary();
    while (args[i] === "-a") {
      i++;
      const w = primary();
      v = v === undefined || w === undefined ? undefined : v && w;
    }
    return v;
  };
  let v = all();
  while (args[i] === "-o") {
    i++;
    const w = all();
    v = v === undefined || w === undefined ? undefined : v || w;
  }
  return i === args.length ? v : undefined;
}

/** A file test a firewall node can answer: its tools, and its namespace's /proc/sys/net. */
function fileTest(op: string, path: string): boolean | undefined {
  if (path.split("/").includes("..")) return undefined;
  const tool = /^(?:\/usr)?\/s?bin\/([\w.+-]+)$/.exec(path);
  if (tool) return op !== "-d" && hasTool(tool[1]!);
  const proc = /^\/proc\/sys\/net((?:\/[\w.-]+)*)\/?$/.exec(path);
  if (!proc) return undefined;
  const parts = proc[1]!.split("/").filter(Boolean);
  const [tree, group, name] = parts;
  if (tree === "bridge") return undefined;
  if (tree !== undefined && !NET_TREES.has(tree)) return false;
  // An interface's entries (conf/eth0, neigh/eth0) are the lab's: only all, default and lo are known.
  if ((group === "conf" || group === "neigh") && name !== undefined && !/^(all|default|lo)$/.test(name))
    return undefined;
  const dir = parts.length <= 1 || ((group === "conf" || group === "neigh") && parts.length <= 3);
  // /proc files report size 0, and none is executable; a directory is searchable.
  if (op === "-s") return false;
  if (op === "-d" || op === "-x") return dir;
  if (op === "-f") return !dir;
  return true;
}
