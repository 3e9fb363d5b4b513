import type { RestoreDocument } from "./restore-document.ts";
import { aside, type ScriptSysctl } from "./script-aside.ts";
import { ScriptError } from "./script-error.ts";
import { playScript, type ScriptCommand } from "./script-shell.ts";

/**
 * Plays a shell script of `nft` commands into one nft document, loaded as an nft file is (after
 * `flush ruleset`, in one transaction): each command's words, as the shell hands them to nft,
 * are one line of it, and remember their script line. Its `echo V > /proc/sys/...` settings as
 * for an iptables script.
 */
export function nftScriptDocument(
  text: string,
): RestoreDocument & { readonly sysctls: readonly ScriptSysctl[] } {
  const lines: string[] = [];
  const sourceLines: number[] = [];
  const sysctls: ScriptSysctl[] = [];
  playScript(text, (command: ScriptCommand) => {
    if (aside(command, sysctls)) return true;
    const { argv, line } = command;
    const cmd = argv[0]!;
    if (!NFT.test(cmd))
      throw new ScriptError(
        line,
        `"${cmd}" in a script of nft commands: it holds nft commands, VAR=value lines and comments (iptables rules go in a ruleset of their own)`,
      );
    // nft's own options before the command: -a (handles), -e (echo), -c (check), -n ...
    let i = 1;
    while (/^-[aecnNsyj]+$/.test(argv[i] ?? "")) i++;
    const words = argv.slice(i);
    if (words[0] === "-f" || words[0] === "--file")
      throw new ScriptError(
        line,
        "nft -f FILE reads a file of the host it would run on: load that file itself",
      );
    if (/^(list|monitor|describe|--version|-v)$/.test(words[0] ?? "")) return true;
    if (words.length === 0) throw new ScriptError(line, "nft without a command");
    if (words.some((w) => /[\x00-\x1f\x7f]/.test(w)))
      throw new ScriptError(line, "a control character (a newline, a tab) inside a word: not an nft command");
    lines.push(words.join(" "));
    sourceLines.push(line);
    return true;
  });
  return {
    text: `flush ruleset\n${lines.join("\n")}\n`,
    sourceLine: (n) => (n > 1 ? sourceLines[n - 2] : undefined),
    tables: [],
    sysctls,
  };
}

export const NFT = /^(?:\/usr)?(?:\/s?bin\/)?nft$/;
