import { readFile, stat } from "node:fs/promises";
import { resolve } from "node:path";
import { FwlabError, InputError } from "../errors.ts";
import type { ExecResult } from "../runtime/exec-result.ts";
import type { Backend } from "../topology/lab-spec.ts";
import { displayPath } from "../util/display-path.ts";
import { nftFileDocument, type RestoreDocument, restoreFileDocument } from "./restore-document.ts";
import { detectRulesetFormat, type RulesetFormat } from "./ruleset-format.ts";
import { ScriptError, scriptToRestore } from "./script-to-restore.ts";

/** Runs a command inside one node: the only thing the loader needs from a lab. */
export type NodeExec = (argv: string[], opts?: { stdin?: string }) => Promise<ExecResult>;

export interface LoadedRuleset {
  readonly node: string;
  readonly file: string;
  readonly format: RulesetFormat;
  readonly backend: Backend;
  readonly rules: number;
  readonly durationMs: number;
}

const MAX_BYTES = 4 * 1024 * 1024;

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
  opts: { backend?: Backend; defaultBackend?: Backend } = {},
): Promise<LoadedRuleset> {
  const started = performance.now();
  const path = resolve(file);
  const shown = displayPath(path);
  const text = await readRulesetText(node, path, shown);
  const format = detectRulesetFormat(path, text);
  if (format === "nft" && opts.backend && opts.backend !== "nft") {
    throw new InputError(
      `[${node}] ${shown} is an nft file; it cannot be loaded with the ${opts.backend} backend`,
    );
  }
  const backend: Backend =
    format === "nft" ? "nft" : opts.backend === "nft" || !opts.backend ? "iptables-nft" : opts.backend;
  const doc = toDocument(node, shown, format, text);

  const r = await exec(["fwlab-ruleset", "load", backend], { stdin: doc.text });
  if (r.exitCode !== 0) throw loadError(node, shown, text, doc, backend, r);
  return {
    node,
    file: path,
    format,
    backend,
    rules:
      format === "nft" ? countNftRules(text) : doc.text.split("\n").filter((l) => l.startsWith("-A ")).length,
    durationMs: performance.now() - started,
  };
}

async function readRulesetText(node: string, path: string, shown: string): Promise<string> {
  let size: number;
  try {
    const st = await stat(path);
    if (!st.isFile()) throw new InputError(`[${node}] ruleset ${shown}: not a file`);
    size = st.size;
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError(`[${node}] ruleset ${shown}: no such file`);
  }
  if (size > MAX_BYTES)
    throw new InputError(`[${node}] ruleset ${shown}: ${size} bytes is too large (limit 4 MiB)`);
  const buf = await readFile(path).catch((err: Error) => {
    throw new InputError(`[${node}] ruleset ${shown}: cannot read it (${err.message})`);
  });
  if (buf.includes(0)) throw new InputError(`[${node}] ruleset ${shown}: binary data, not a ruleset`);
  const text = buf.toString("utf8");
  if (text.trim() === "") {
    throw new InputError(
      `[${node}] ruleset ${shown}: the file is empty (to clear the ruleset, load one that says so)`,
    );
  }
  return text;
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
  const line = Number.isNaN(docLine) ? undefined : doc.sourceLine(docLine);
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
  const err = new FwlabError(
    `[${node}] ruleset ${shown}${where}: ${message.trim()} (${tool} exited ${r.exitCode}); ${state}` +
      (line ? `\n${excerpt(text, line)}` : ""),
    r.exitCode === 2 ? 2 : 1,
  );
  return err;
}

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
