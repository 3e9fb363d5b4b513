import { FwlabError } from "../errors.ts";
import type { ExecResult } from "../runtime/exec-result.ts";
import type { Backend } from "../topology/lab-spec.ts";
import type { RestoreDocument } from "./restore-document.ts";
import type { IpFamily } from "./ruleset-format.ts";
import type { ScriptSysctl } from "./script-aside.ts";

/** One family's ruleset as a load sends it: the user's file and the document made of it. */
export interface RulesetPart {
  /** An nft file is "ipv4": it goes where the IPv4 ruleset goes (its tables name their families). */
  readonly family: IpFamily;
  /** The file as the user would type it. */
  readonly shown: string;
  readonly text: string;
  readonly doc: RestoreDocument;
  /** The net.* settings a script writes (script-to-restore.ts). */
  readonly sysctls?: readonly ScriptSysctl[];
  /** A script's ip6tables commands beside its iptables ones: its IPv6 half. */
  readonly ipv6?: RulesetPart;
  /** A script's ipset commands: the sets its rules match, restored before them. */
  readonly ipsets?: RulesetPart;
  /** The line of the `exit` a script reached, if it did. */
  readonly exitedAt?: number;
}

/**
 * What a failed `fwlab-ruleset load` means, in the user's words: the file (of the family the
 * loader names on stderr), its line and the tool's own message, and whether the previous
 * rulesets are active again. Exit 2 and 3 with a line: the file is at fault (exit code 2).
 */
export function loadError(node: string, parts: LoadParts, backend: Backend, r: ExecResult): FwlabError {
  const { part, tool, line, commit, message } = loadFailure(parts, backend, r);
  const where = line ? ` line ${line}` : "";
  const previous = parts.v4 && parts.v6 ? "the previous IPv4 and IPv6 rulesets" : "the previous ruleset";
  const are = parts.v4 && parts.v6 ? "are" : "is";
  const state =
    r.exitCode === 2
      ? `nothing was loaded, ${previous} ${are} still active`
      : r.exitCode === 3
        ? `it failed while applying and ${previous} ${are === "are" ? "were" : "was"} put back`
        : `it failed while applying and ${previous} could NOT be put back: reload a ruleset or \`fwlab down\` the lab`;
  // The previous ruleset is active again (exits 2 and 3) and the tool named a line of the
  // user's file: the file is at fault, an input error.
  const invalid = r.exitCode === 2 || (r.exitCode === 3 && (line !== undefined || commit));
  return new FwlabError(
    `[${node}] ruleset ${part.shown}${where}: ${message.trim()} (${tool} exited ${r.exitCode})${hintFor(message)}; ${state}` +
      (line ? `\n${excerpt(part.text, line)}` : ""),
    invalid ? 2 : 1,
  );
}

export interface LoadParts {
  readonly v4?: RulesetPart;
  readonly v6?: RulesetPart;
  readonly sets?: RulesetPart;
}

/** Where a failed load failed: the part, the tool, the document's line and the user's, and what the tool said. */
export function loadFailure(
  parts: LoadParts,
  backend: Backend,
  r: ExecResult,
): {
  part: RulesetPart;
  tool: string;
  docLine?: number;
  line?: number;
  /** The kernel refused a table as a whole (legacy iptables names its COMMIT). */
  commit: boolean;
  message: string;
} {
  const family: IpFamily = /^fwlab-ruleset: the IPv6 ruleset/m.test(r.stderr) ? "ipv6" : "ipv4";
  const ofSets = parts.sets && /^fwlab-ruleset: the ipsets/m.test(r.stderr) ? parts.sets : undefined;
  const part = ofSets ?? (family === "ipv6" ? parts.v6 : parts.v4) ?? parts.v4 ?? parts.v6!;
  const tool = ofSets
    ? "ipset restore"
    : backend === "nft"
      ? "nft"
      : `${part.family === "ipv6" ? backend.replace("ip", "ip6") : backend}-restore`;
  const out = `${r.stderr}\n${r.stdout}`;
  const docLine = Number(
    /Error occurred at line: (\d+)/.exec(out)?.[1] ??
      /line (\d+) failed/.exec(out)?.[1] ??
      /^line (\d+): /m.exec(out)?.[1] ??
      /next\.rules:(\d+):/.exec(out)?.[1] ??
      /Error in line (\d+):/.exec(out)?.[1] ??
      Number.NaN,
  );
  const { doc } = part;
  // iptables-nft finds a jump to a chain that does not exist only at COMMIT, and names that
  // line: name the rule of that table that jumps instead (a load that goes on past it skips it).
  const missing = /Chain '([^']+)' does not exist/.exec(out)?.[1];
  const docLines = doc.text.split("\n");
  // The table the named line is in: from its `*table` line up to that line.
  const end = Number.isNaN(docLine) ? docLines.length : docLine;
  let tableStart = Number.isNaN(docLine) ? 0 : end - 1;
  while (tableStart > 0 && !docLines[tableStart]!.startsWith("*")) tableStart--;
  const jump = missing
    ? docLines.findIndex(
        (l, i) => i >= tableStart && i < end && /^-[AI] /.test(l.trimStart()) && jumpsTo(l, missing),
      ) + 1
    : 0;
  const at = jump > 0 ? jump : Number.isNaN(docLine) ? undefined : docLine;
  const line = at === undefined ? undefined : doc.sourceLine(at);
  const said = out
    .split("\n")
    .map((l) =>
      l
        .replace(/^\S*ip6?tables[\w-]*(?: v[\d.]+ \([\w_]+\))?: /, "")
        .replace(/^\/run\/fwlab\/next\.rules:[\d:-]+ /, "")
        .replace(/^line \d+: (?=\S)/, "")
        .replace(/^ipset v[\d.]+: (?:Error in line \d+: )?/, ""),
    )
    .filter((l) => l.trim());
  const told =
    said.find((l) => !/^(Error occurred at line|Try `|fwlab-ruleset: )/.test(l)) ?? said[0] ?? "no message";
  // nft's ENOENT names neither what is missing nor why: rulesets written for a host name its
  // devices (eth0) in flowtables and netdev chains, where a lab node has lan, dmz, wan.
  const message =
    tool === "nft" && /Could not process rule: No such file or directory/.test(told)
      ? `${told.trim()} (nft says so for a device the node does not have, as a node's interfaces are named after the lab's networks, or for a feature this kernel lacks, such as flowtables)`
      : told;
  // Legacy iptables-restore commits a table at once and names its COMMIT line: no rule's.
  const commit =
    at !== undefined &&
    line === undefined &&
    docLines[at - 1]?.trim() === "COMMIT" &&
    tool.includes("legacy");
  return {
    part,
    tool,
    docLine: at,
    line,
    commit,
    message: commit
      ? `the kernel refused the ${docLines[tableStart]!.slice(1).trim()} table as a whole (${tool} names no rule of it; the kernel's log says which match or target)`
      : message,
  };
}

const jumpsTo = (rule: string, chain: string): boolean =>
  rule
    .split(/\s+/)
    .some(
      (w, i, ws) => (w === chain || w === `"${chain}"`) && /^(-j|-g|--jump|--goto)$/.test(ws[i - 1] ?? ""),
    );

/** The user's line, numbered: `  14 | iptables -A ...`. */
export function excerpt(text: string, line: number): string {
  const src = text.split(/\r?\n/)[line - 1] ?? "";
  return `  ${line} | ${src}`;
}

const SYSLOG_LEVELS = ["emerg", "alert", "crit", "error", "warning", "notice", "info", "debug"];

/**
 * What an older script wrote that this tool refuses, and what it takes instead. Classic
 * rc.firewall scripts write `--log-level DEBUG`: this iptables matches level names exactly.
 */
export function hintFor(message: string): string {
  const level = /log level [`'"]?([A-Za-z]+)[`'"]? unknown/.exec(message)?.[1];
  if (level && level !== level.toLowerCase() && SYSLOG_LEVELS.includes(level.toLowerCase()))
    return ` (this iptables takes log levels in lower case or as numbers 0-7: --log-level ${level.toLowerCase()})`;
  return "";
}
