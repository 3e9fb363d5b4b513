import { resolve } from "node:path";
import { FwlabError, InputError } from "../errors.ts";
import type { ExecResult, NodeExec } from "../runtime/exec-result.ts";
import type { Backend } from "../topology/lab-spec.ts";
import { displayPath } from "../util/display-path.ts";
import { groupsIn } from "./nflog-groups.ts";
import { nftFileDocument, type RestoreDocument, restoreFileDocument } from "./restore-document.ts";
import type { RulesetListing } from "./rule-handles.ts";
import { readRulesetFile } from "./ruleset-file.ts";
import { detectRulesetFormat, type RulesetFormat } from "./ruleset-format.ts";
import { ScriptError, scriptToRestore } from "./script-to-restore.ts";

export interface LoadedRuleset {
  readonly node: string;
  readonly file: string;
  readonly format: RulesetFormat;
  readonly backend: Backend;
  readonly rules: number;
  /** The NFLOG groups the ruleset logs to. */
  readonly nflogGroups: readonly number[];
  /** With `listing`: the node's ruleset as traces are numbered against. */
  readonly listing?: RulesetListing;
  readonly durationMs: number;
}

export interface LoadOptions {
  /** What the user asked for (default: the node's own, else iptables-nft; nft files: nft). */
  readonly backend?: Backend;
  /** The node's backend (x-fwlab.backend). */
  readonly defaultBackend?: Backend;
  /** fwlab's own nft tables to put back right after the user's ruleset replaced them. */
  readonly ownTables?: string;
  /** Also read back the loaded ruleset for numbering trace lines (same exec). */
  readonly listing?: boolean;
}

/**
 * Loads a ruleset file into a firewall node, all or nothing. Formats: iptables-save, a shell
 * script of iptables commands, or an nft file. On failure the previous ruleset stays active
 * and the error names the node, the file, the line and the tool's own message. `backend` is
 * what the user asked for; `defaultBackend` is the node's (x-fwlab.backend).
 */
export async function loadRuleset(
  node: string,
  exec: NodeExec,
  file: string,
  opts: LoadOptions = {},
): Promise<LoadedRuleset> {
  const started = performance.now();
  const path = resolve(file);
  const shown = displayPath(path);
  const text = readRulesetFile(path, `[${node}] ruleset ${shown}`);
  const format = detectRulesetFormat(path, text);
  if (format === "nft" && opts.backend && opts.backend !== "nft") {
    throw new InputError(
      `[${node}] ${shown} is an nft file; it cannot be loaded with the ${opts.backend} backend`,
    );
  }
  const backend: Backend =
    format === "nft" ? "nft" : opts.backend === "nft" || !opts.backend ? "iptables-nft" : opts.backend;
  const doc = toDocument(node, shown, format, text);

  const own = opts.ownTables ? `#fwlab-own#\n${opts.ownTables}\n` : "";
  const r = await exec(["fwlab-ruleset", "load", backend, ...(opts.listing ? ["listing"] : [])], {
    stdin: doc.text + own,
  });
  if (r.exitCode === 5)
    throw new FwlabError(
      `[${node}] ruleset ${shown} is loaded, but fwlab's trace table could not be put back after it (${r.stderr.trim()}): this run cannot tell drops from timeouts on ${node}`,
    );
  if (r.exitCode !== 0) throw loadError(node, shown, text, doc, backend, r);
  const [nft, iptablesSave] = r.stdout.split("#fwlab#\n");
  return {
    node,
    file: path,
    format,
    backend,
    rules:
      format === "nft" ? countNftRules(text) : doc.text.split("\n").filter((l) => l.startsWith("-A ")).length,
    nflogGroups: groupsIn(doc.text),
    listing: opts.listing ? { nft: nft ?? "", iptablesSave: iptablesSave ?? "" } : undefined,
    durationMs: performance.now() - started,
  };
}

function toDocument(node: string, shown: string, format: RulesetFormat, text: string): RestoreDocument {
  switch (format) {
    case "nft":
      return nftFileDocument(text);
    case "iptables-save":
      return restoreFileDocument(text);
    case "iptables-script":
      try {
        return scriptToRestore(text);
      } catch (err) {
        if (!(err instanceof ScriptError)) throw err;
        throw new InputError(
          `[${node}] ruleset ${shown} line ${err.line}: ${err.message}; nothing was loaded, the previous ruleset is still active\n` +
            excerpt(text, err.line),
        );
      }
  }
}

function loadError(
  node: string,
  shown: string,
  text: string,
  doc: RestoreDocument,
  backend: Backend,
  r: ExecResult,
): FwlabError {
  const tool = backend === "nft" ? "nft" : `${backend}-restore`;
  const out = `${r.stderr}\n${r.stdout}`;
  const docLine = Number(
    /Error occurred at line: (\d+)/.exec(out)?.[1] ??
      /line (\d+) failed/.exec(out)?.[1] ??
      /next\.rules:(\d+):/.exec(out)?.[1] ??
      Number.NaN,
  );
  // iptables-nft finds a jump to a chain that does not exist only at COMMIT, and names that
  // line: name the rule that jumps instead.
  const missing = /Chain '([^']+)' does not exist/.exec(out)?.[1];
  const jump = missing
    ? doc.text.split("\n").findIndex((l) => /^-[AI] /.test(l.trimStart()) && jumpsTo(l, missing)) + 1
    : 0;
  const line = jump > 0 ? doc.sourceLine(jump) : Number.isNaN(docLine) ? undefined : doc.sourceLine(docLine);
  const message =
    out
      .split("\n")
      .map((l) =>
        l
          .replace(/^\S*iptables[\w-]*(?: v[\d.]+ \([\w_]+\))?: /, "")
          .replace(/^\/run\/fwlab\/next\.rules:[\d:-]+ /, ""),
      )
      .find((l) => l.trim() && !/^(Error occurred at line|Try `)/.test(l)) ?? "no message";
  const where = line ? ` line ${line}` : "";
  const state =
    r.exitCode === 2
      ? "nothing was loaded, the previous ruleset is still active"
      : r.exitCode === 3
        ? "it failed while applying and the previous ruleset was put back"
        : "it failed while applying and the previous ruleset could NOT be put back: reload a ruleset or `fwlab down` the lab";
  // The previous ruleset is active again (exits 2 and 3) and the tool named a line of the
  // user's file: the file is at fault, an input error.
  const invalid = r.exitCode === 2 || (r.exitCode === 3 && line !== undefined);
  return new FwlabError(
    `[${node}] ruleset ${shown}${where}: ${message.trim()} (${tool} exited ${r.exitCode}); ${state}` +
      (line ? `\n${excerpt(text, line)}` : ""),
    invalid ? 2 : 1,
  );
}

const jumpsTo = (rule: string, chain: string): boolean =>
  rule
    .split(/\s+/)
    .some(
      (w, i, ws) => (w === chain || w === `"${chain}"`) && /^(-j|-g|--jump|--goto)$/.test(ws[i - 1] ?? ""),
    );

function excerpt(text: string, line: number): string {
  const src = text.split(/\r?\n/)[line - 1] ?? "";
  return `  ${line} | ${src}`;
}

function countNftRules(text: string): number {
  return text
    .split("\n")
    .filter(
      (l) =>
        /\b(accept|drop|reject|jump|goto|counter|log|masquerade|snat|dnat)\b/.test(l) &&
        !/^\s*(type|policy)\b/.test(l),
    ).length;
}
