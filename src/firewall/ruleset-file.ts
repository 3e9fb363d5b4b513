import { InputError } from "../errors.ts";
import { readInputFile } from "../topology/input-file.ts";
import { nftScriptDocument } from "./nft-script.ts";
import { detectRulesetFormat } from "./ruleset-format.ts";
import type { ScriptSysctl } from "./script-aside.ts";
import { ScriptError } from "./script-error.ts";
import { scriptToRestore } from "./script-to-restore.ts";

const MAX_BYTES = 4 * 1024 * 1024;

/** Why an nft file cannot be a node's IPv6 ruleset. */
export const NFT_NOT_IPV6 =
  "an nft file cannot be the IPv6 ruleset (ip6tables-save or ip6tables commands): an nft ruleset's inet and ip6 tables hold its IPv6 rules itself";

/** A ruleset file's text; errors start with `label` ("[fw] ruleset rules.sh"). */
export function readRulesetFile(path: string, label: string): string {
  return readRulesetText(path, label).text;
}

/**
 * A ruleset file's text with plain newlines and no byte-order mark, and what a Windows editor
 * left in it (a student's laptop): CRLF line endings, or Notepad's BOM before the first line.
 * iptables-restore, nft and sh on a Linux host would each refuse such a file in its own obscure
 * way (`table name 'filter' invalid`, `line 1 failed`, `unexpected junk`, `$'\r': command not
 * found`). fwlab reads it as meant, and a load says so (`windows`, a note).
 */
export function readRulesetText(path: string, label: string): { text: string; windows?: string } {
  const raw = readInputFile(path, {
    what: "a ruleset",
    maxBytes: MAX_BYTES,
    whenEmpty: "to clear the ruleset, load one that says so",
    label,
  });
  const bom = raw.startsWith("\uFEFF");
  const crlf = raw.includes("\r\n");
  if (!bom && !crlf) return { text: raw };
  const what = [crlf ? "its lines end in CRLF" : "", bom ? "it starts with a byte-order mark" : ""]
    .filter(Boolean)
    .join(" and ");
  return {
    text: (bom ? raw.slice(1) : raw).replace(/\r\n/g, "\n"),
    windows: `${what} (saved on Windows): read as meant here, but iptables-restore, nft and sh on a Linux host would refuse it as it is (convert it with dos2unix)`,
  };
}

/**
 * Checks what can be checked on the host before any node sees a ruleset: that it is a
 * readable text file and, for a script of iptables commands, that it plays (unknown chains,
 * unset variables, shell operators, with their line). Lab and scenario files check the
 * rulesets they name with it, so such an error stops a run before anything starts. With
 * `ipv6`, the file is a node's IPv6 ruleset: ip6tables commands or ip6tables-save, not nft.
 */
export function checkRulesetFile(path: string, label: string, opts: { ipv6?: boolean } = {}): void {
  const text = readRulesetFile(path, label);
  const format = detectRulesetFormat(path, text);
  if ((format === "nft" || format === "nft-script") && opts.ipv6)
    throw new InputError(`${label}: ${NFT_NOT_IPV6}`);
  if (format !== "iptables-script" && format !== "nft-script") return;
  try {
    if (format === "nft-script") nftScriptDocument(text);
    else scriptToRestore(text, opts.ipv6 ? "ipv6" : undefined);
  } catch (err) {
    if (!(err instanceof ScriptError)) throw err;
    throw new InputError(`${label} line ${err.line}: ${err.message}`);
  }
}

/**
 * The net.* settings a ruleset file writes when it is a script (`echo 1 > /proc/sys/...`), for
 * whoever must put them back afterwards (a scenario run); none for what cannot be read or played
 * (loading it says why).
 */
export function rulesetSettings(path: string, opts: { ipv6?: boolean } = {}): readonly ScriptSysctl[] {
  try {
    const text = readRulesetFile(path, path);
    const format = detectRulesetFormat(path, text);
    if (format === "nft-script") return nftScriptDocument(text).sysctls;
    if (format !== "iptables-script") return [];
    return scriptToRestore(text, opts.ipv6 ? "ipv6" : undefined).sysctls;
  } catch {
    return [];
  }
}
