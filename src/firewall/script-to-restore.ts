import { IpSets } from "./ipset-script.ts";
import { applyCommand, renderTables, type Table } from "./iptables-tables.ts";
import { NFT } from "./nft-script.ts";
import type { RestoreDocument } from "./restore-document.ts";
import type { IpFamily } from "./ruleset-format.ts";
import { aside, type ScriptSysctl } from "./script-aside.ts";
import { CommandFailed, ScriptError } from "./script-error.ts";
import { playScript, type ScriptCommand } from "./script-shell.ts";

/**
 * Turns a shell script of `iptables ...` lines (as the seeds write them), of `ip6tables ...`
 * lines, or of both, into iptables-restore (ip6tables-restore) documents, by playing every
 * command against an empty ruleset; its ipset commands and kernel settings beside them.
 *
 * Why not run the script? A script applies rule by rule, so a typo on line 14 leaves lines
 * 1-13 active. Played here and loaded as one document, a ruleset is all or nothing, and every
 * rule remembers the script line it came from, so iptables' own errors point at that line.
 * The shell around the iptables lines (variables, lists, loops, branches) is script-shell.ts's;
 * what is no rule (echo, modprobe, a setting) script-aside.ts's; nft scripts nft-script.ts's.
 */

/** A played script: its document and the family its commands are for. */
export interface ScriptDocument extends RestoreDocument {
  readonly family: IpFamily;
  /**
   * The kernel settings it writes, in order (`echo 1 > /proc/sys/net/ipv4/ip_forward`, `sysctl -w
   * net.ipv4.tcp_syncookies=1`): a key may hold a `*` (`net.ipv4.conf.*.rp_filter`).
   */
  readonly sysctls: readonly ScriptSysctl[];
  /** The IPv6 ruleset of a script that holds iptables and ip6tables commands both. */
  readonly ipv6?: RestoreDocument;
  /** The ipsets its `ipset` commands make, as `ipset restore` input (ipset-script.ts). */
  readonly ipsets?: RestoreDocument;
  /** The line of the `exit` the script reached, if it did. */
  readonly exitedAt?: number;
}

const IPTABLES = /^(?:\/usr)?(?:\/s?bin\/)?(ip6?)tables(?:-nft|-legacy)?$/;
/**
 * Plays a script. With `family` (the script given as a node's IPv6 ruleset, say) every command
 * must be of that family. Without, a script may hold both, as many hardening scripts do
 * (`ip6tables -P INPUT DROP` after the IPv4 rules): its iptables commands are the IPv4 ruleset
 * and its ip6tables commands the IPv6 one (`ipv6`); one of ip6tables commands alone is an IPv6
 * ruleset.
 */
export function scriptToRestore(
  text: string,
  family?: IpFamily,
  /**
   * Commands to play as failed, by key (their line, words and occurrence: see `keyOf`): the ones
   * the kernel refused, where the script goes on past a failure (`|| true`), as the shell would
   * have on that kernel.
   */
  failed: ReadonlySet<string> = new Set(),
): ScriptDocument {
  const occurrences = new Map<string, number>();
  const tables: Record<IpFamily, Map<string, Table>> = { ipv4: new Map(), ipv6: new Map() };
  const seen = new Set<IpFamily>();
  const sysctls: ScriptSysctl[] = [];
  const sets = new IpSets();
  const { exitedAt, exitStatus } = playScript(text, (command: ScriptCommand) => {
    if (aside(command, sysctls)) return true;
    const { argv, line } = command;
    const cmd = argv[0]!;
    if (IPSET.test(cmd)) return sets.play(argv.slice(1), line);
    const tool = IPTABLES.exec(cmd);
    if (!tool && NFT.test(cmd))
      throw new ScriptError(
        line,
        '"nft" among iptables commands: a script holds iptables commands or nft commands, not both (each is a ruleset of its own)',
      );
    if (!tool) {
      throw new ScriptError(
        line,
        `"${cmd}" is not an iptables command; a rules script holds iptables (or ip6tables) commands, VAR=value lines and comments`,
      );
    }
    if (command.pipedInto)
      throw new ScriptError(
        line,
        `${cmd} into a pipe: a rules script's iptables commands change the ruleset, they are not read`,
      );
    // iptables-restore reads one rule per line: no word may carry a line of its own.
    if (argv.some((a) => /[\x00-\x1f\x7f]/.test(a)))
      throw new ScriptError(
        line,
        "a control character (a newline, a tab) inside a word: not a rule iptables takes",
      );
    const f: IpFamily = tool[1] === "ip6" ? "ipv6" : "ipv4";
    if (family && f !== family) throw new ScriptError(line, otherFamily(cmd, family));
    seen.add(f);
    // A command's key holds its words: one played failed makes its fallback run on the same line,
    // and that must not shift which command a key names in the next round.
    const same = `${line} ${argv.join(" ")}`;
    const n = (occurrences.get(same) ?? 0) + 1;
    occurrences.set(same, n);
    const key = `${same}#${n}`;
    if (failed.has(key)) throw new CommandFailed(line, "the kernel refused it");
    try {
      checkFamily(argv, f, line);
      applyCommand(
        tables[f],
        withoutWait(argv.slice(1)),
        line,
        `${tool[1]}tables`,
        command.caught ? key : undefined,
      );
    } catch (err) {
      // iptables itself would have failed here: the script's `||` may expect it.
      if (err instanceof ScriptError) throw new CommandFailed(err.line, err.message);
      throw err;
    }
    return true;
  });
  // `die() { echo "$*" >&2; exit 1; }`: a script that gives up leaves its ruleset half made.
  if (exitStatus)
    throw new ScriptError(
      exitedAt!,
      `the script exits with status ${exitStatus} here: what it made up to there is no ruleset, and nothing was loaded`,
    );
  const main: IpFamily = family ?? (seen.has("ipv6") && !seen.has("ipv4") ? "ipv6" : "ipv4");
  const ipv6 = main === "ipv4" && seen.has("ipv6") ? renderTables(tables.ipv6) : undefined;
  const ipsets = sets.document();
  return {
    ...renderTables(tables[main]),
    family: main,
    sysctls,
    ...(exitedAt !== undefined ? { exitedAt } : {}),
    ...(ipv6 ? { ipv6 } : {}),
    ...(ipsets ? { ipsets } : {}),
  };
}

const IPSET = /^(?:\/usr)?(?:\/s?bin\/)?ipset$/;

/** iptables' own waiting for the xtables lock (`-w`, `-w 5`, `--wait`, `-W 1000`): nothing to play. */
function withoutWait(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (/^(-w|--wait)$/.test(a)) {
      if (/^\d+$/.test(args[i + 1] ?? "")) i++;
    } else if (/^(-W|--wait-interval)$/.test(a)) i++;
    else if (!/^(--wait|--wait-interval)=/.test(a)) out.push(a);
  }
  return out;
}

function otherFamily(cmd: string, family: IpFamily): string {
  return family === "ipv6"
    ? `"${cmd}" in the IPv6 ruleset: it holds ip6tables commands (the IPv4 rules go in the node's main ruleset)`
    : `"${cmd}" in the IPv4 ruleset: it holds iptables commands (the IPv6 rules go in the node's IPv6 ruleset)`;
}

const IPV4 = /^!?\d{1,3}(?:\.\d{1,3}){3}(?:\/\d+)?$/;
const IPV6 = /^!?[\da-f]*:[\da-f:.]*(?:\/\d+)?$/i;

/**
 * What one family's tool refuses in the other's: said here, on the host, with the line, and
 * what to write instead (the tool would say `unknown option "--icmp-type"`).
 */
function checkFamily(argv: readonly string[], family: IpFamily, line: number): void {
  const v6 = family === "ipv6";
  const tool = v6 ? "ip6tables" : "iptables";
  for (let i = 1; i < argv.length; i++) {
    const [a, next = ""] = [argv[i]!, argv[i + 1]];
    const fail = (what: string) => {
      throw new ScriptError(line, `${tool}: ${what}`);
    };
    if (v6 && a === "--icmp-type")
      fail(`--icmp-type is IPv4's ICMP; write -p ipv6-icmp --icmpv6-type ${next}`);
    if (!v6 && a === "--icmpv6-type")
      fail(`--icmpv6-type is for ip6tables; IPv4 matches ICMP with -p icmp --icmp-type ${next}`);
    if (a === "--reject-with" && v6 && /^icmp-/.test(next))
      fail(
        `--reject-with ${next} is IPv4's; IPv6 rejects with icmp6-port-unreachable, icmp6-adm-prohibited, tcp-reset, ...`,
      );
    if (a === "--reject-with" && !v6 && /^icmp6-/.test(next))
      fail(
        `--reject-with ${next} is for ip6tables; IPv4 rejects with icmp-port-unreachable, icmp-admin-prohibited, tcp-reset, ...`,
      );
    if (/^(-[sd]|--source|--destination|--src|--dst)$/.test(a)) {
      const other = next.split(",").find((x) => (v6 ? IPV4 : IPV6).test(x));
      if (other)
        fail(
          `${other} is an ${v6 ? "IPv4" : "IPv6"} address (${a}); ${tool} takes ${v6 ? "IPv6" : "IPv4"} ones`,
        );
    }
  }
}
