import { SYSCTL_KEY } from "../runtime/host-netns.ts";
import { ScriptError } from "./script-error.ts";
import type { ScriptCommand } from "./script-shell.ts";

/** A kernel setting a script writes, and its line. */
export interface ScriptSysctl {
  readonly key: string;
  readonly value: string;
  readonly line: number;
}

/** Lines a script may hold that do not change the ruleset (listing, saving, service control). */
const NO_OP =
  /^(?:(?:\/usr)?(?:\/s?bin\/)?(?:service|systemctl|ip6?tables-save|echo|printf|modprobe|insmod|rmmod|depmod|sleep|logger|sysctl)|\/etc\/init\.d\/ip6?tables)$/;
const SYSCTL = /^(?:\/usr)?(?:\/s?bin\/)?sysctl$/;
/** No-ops whose exit status says something about the machine, not about the script. */
const UNKNOWN_STATUS = /(?:^|\/)(?:service|systemctl|ip6?tables-save|init\.d\/ip6?tables)$/;
/** What a pipe may feed that would change the node: refused, never skipped. */
const WRITES =
  /(?:^|\/)(?:tee|ip6?tables(?:-nft|-legacy)?(?:-restore)?|nft|sysctl|sh|bash|dash|xargs|dd|ipset)$/;

/**
 * What both players do with a command that is not a rule: a pipe into something that would
 * change the node is refused; a line that changes no ruleset (echo, modprobe, a listing) is
 * passed over, keeping the kernel setting it writes, if any. True when the command is done with.
 */
export function aside(
  { argv, line, writesTo, pipedInto, tested }: ScriptCommand,
  sysctls: ScriptSysctl[],
): boolean {
  const into = pipedInto?.find((p) => WRITES.test(p));
  if (into)
    throw new ScriptError(
      line,
      `a pipe into ${into}: what it would change is not played; write the rules (or echo V > /proc/sys/...) themselves`,
    );
  if (!NO_OP.test(argv[0]!)) return false;
  // Whether a service runs, or what a listing piped into grep finds, is the machine's: the
  // branch it picks cannot be played (`iptables-save | grep -q MASQUERADE || iptables -t nat ...`).
  if (tested && (pipedInto || UNKNOWN_STATUS.test(argv[0]!)))
    throw new ScriptError(
      line,
      `the exit status of ${pipedInto ? `${argv[0]} | ${pipedInto.join(" | ")}` : argv[0]} decides what runs next, and a played script cannot know it: write the branch you mean`,
    );
  sysctls.push(...sysctlsOf(argv, line, writesTo));
  return true;
}

/** What `echo V > /proc/sys/...` and `sysctl [-w] key=value ...` set. */
function sysctlsOf(argv: readonly string[], line: number, writesTo?: string): ScriptSysctl[] {
  if (writesTo?.startsWith("/proc/sys/")) {
    const value =
      argv[0] === "echo"
        ? argv
            .slice(1)
            .filter((a) => !/^-[neE]+$/.test(a))
            .join(" ")
        : argv[0] === "printf" && argv.length === 2 && !argv[1]!.includes("%")
          ? argv[1]!.replace(/\\n$/, "")
          : undefined;
    if (value === undefined)
      throw new ScriptError(
        line,
        `${argv[0]} into ${writesTo}: a setting is played from echo V > ${writesTo}`,
      );
    const path = writesTo.slice("/proc/sys/".length);
    if (path.split("/").some((segment) => segment.includes(".")))
      throw new ScriptError(
        line,
        `${writesTo}: a name with a dot in it (eth0.100) is not played; set it in the lab file`,
      );
    return [nodeKey(path.replaceAll("/", "."), value, line)];
  }
  if (!SYSCTL.test(argv[0]!)) return [];
  // `sysctl -p` reads a file of the host it would run on: nothing a played script can know.
  return argv
    .slice(1)
    .filter((a) => !a.startsWith("-") && a.includes("="))
    .map((a) => {
      const at = a.indexOf("=");
      return nodeKey(a.slice(0, at).trim().replaceAll("/", "."), a.slice(at + 1).trim(), line);
    });
}

/** A setting the node's own namespace holds (net.*): anything else is the host's, every lab's. */
function nodeKey(key: string, value: string, line: number): ScriptSysctl {
  if (!SYSCTL_KEY.test(key))
    throw new ScriptError(
      line,
      `${key} is not a setting of the firewall's own network namespace (net.*): it would change the host every lab runs on; set it on the host yourself, or in a scenario's host sysctls`,
    );
  return { key, value, line };
}
