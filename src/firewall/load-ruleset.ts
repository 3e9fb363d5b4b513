import { resolve } from "node:path";
import { FwlabError, InputError } from "../errors.ts";
import type { ExecResult, NodeExec } from "../runtime/exec-result.ts";
import type { Backend } from "../topology/lab-spec.ts";
import { displayPath } from "../util/display-path.ts";
import { excerpt, type LoadParts, loadError, loadFailure, type RulesetPart } from "./load-error.ts";
import { groupsIn } from "./nflog-groups.ts";
import { nftScriptDocument } from "./nft-script.ts";
import { nftFileDocument, restoreFileDocument } from "./restore-document.ts";
import { parseListing, type RulesetListing } from "./rule-handles.ts";
import { NFT_NOT_IPV6, readRulesetFile, readRulesetText } from "./ruleset-file.ts";
import {
  detectRulesetFamily,
  detectRulesetFormat,
  type IpFamily,
  type RulesetFormat,
} from "./ruleset-format.ts";
import type { ScriptSysctl } from "./script-aside.ts";
import { ScriptError } from "./script-error.ts";
import { scriptToRestore } from "./script-to-restore.ts";

export interface LoadedRuleset {
  readonly node: string;
  readonly file: string;
  /** Where the IPv6 ruleset came from: the `ipv6` file, or `file` when it holds ip6tables commands. */
  readonly ipv6File?: string;
  readonly format: RulesetFormat;
  readonly backend: Backend;
  /** Rules of both families. */
  readonly rules: number;
  /** The NFLOG groups the ruleset logs to. */
  readonly nflogGroups: readonly number[];
  /** With `listing`: the node's ruleset as traces are numbered against. */
  readonly listing?: RulesetListing;
  readonly durationMs: number;
  /**
   * The net.* settings a script writes (`echo 1 > /proc/sys/...`, `sysctl -w`), in order, with
   * the file they are in: the lab applies them in the node after its rules (StartedLab).
   */
  readonly sysctls: readonly (ScriptSysctl & { readonly file: string })[];
  /** What the load went on past: a rule the kernel refused where the script catches its failure. */
  readonly notes: readonly string[];
}

export interface LoadOptions {
  /** What the user asked for (default: the node's own, else iptables-nft; nft files: nft). */
  readonly backend?: Backend;
  /** The node's backend (x-fwlab.backend). */
  readonly defaultBackend?: Backend;
  /**
   * An IPv6 ruleset (ip6tables-save, or a script of ip6tables commands) loaded with `file`,
   * all or nothing across both families. Not with an nft file (its inet and ip6 tables do).
   */
  readonly ipv6?: string;
  /** fwlab's own nft tables to put back right after the user's ruleset replaced them. */
  readonly ownTables?: string;
  /** Also read back the loaded ruleset for numbering trace lines (same exec). */
  readonly listing?: boolean;
}

/**
 * Loads a ruleset file into a firewall node, all or nothing. Formats: iptables-save, a shell
 * script of iptables commands, or an nft file; with `ipv6`, an IPv6 ruleset too (a file of
 * ip6tables commands alone is the IPv6 ruleset, IPv4 left empty). On failure the previous
 * rulesets stay active and the error names the node, the file, the line and the tool's own
 * message. `backend` is what the user asked for; `defaultBackend` is the node's (x-fwlab.backend).
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
  const { text, windows } = readRulesetText(path, `[${node}] ruleset ${shown}`);
  const format = detectRulesetFormat(path, text);
  const nft = format === "nft" || format === "nft-script";
  if (nft && opts.backend && opts.backend !== "nft") {
    throw new InputError(
      `[${node}] ${shown} is an nft ${format === "nft" ? "file" : "script"}; it cannot be loaded with the ${opts.backend} backend`,
    );
  }
  const ipv6 = opts.ipv6 ? resolve(opts.ipv6) : undefined;
  if (nft && ipv6) {
    throw new InputError(
      `[${node}] ${shown} is an nft file: its inet and ip6 tables hold its IPv6 rules, it takes no IPv6 ruleset (${displayPath(ipv6)})`,
    );
  }
  const backend: Backend = nft
    ? "nft"
    : opts.backend === "nft" || !opts.backend
      ? "iptables-nft"
      : opts.backend;
  const input: LoadInput = {
    node,
    shown,
    text,
    format,
    ipv6: ipv6 ? readIpv6(node, ipv6) : undefined,
  };
  // A rule the kernel refuses (iptables could not know: `-m owner` in INPUT) where the script
  // catches the failure (`... || true`) is played failed and the load tried again, its fallback
  // in its place, as the script would have run on this kernel; each is said in `notes`. Keys are
  // per file (a separate IPv6 file has lines of its own).
  const failed = new Map<string, Set<string>>();
  const notes: string[] = [];
  let firstExits: string | undefined;
  let previous: { parts: LoadParts; r: ExecResult } | undefined;
  for (;;) {
    let parts: ReturnType<typeof partsOf>;
    try {
      parts = partsOf(input, failed);
    } catch (err) {
      // Played with a refused command failed, the script gave up (`|| die "..."`): as the shell
      // would have on this kernel. The kernel's refusal is the error.
      if (previous) throw loadError(node, previous.parts, backend, previous.r);
      throw err;
    }
    // A refusal whose failure makes the script exit (`|| exit 1`) stops it there, as the shell
    // would: no ruleset half loaded, the kernel's refusal is the error.
    const exits = [parts.main, parts.ipv6File].map((p) => p?.exitedAt ?? "").join(",");
    firstExits ??= exits;
    if (previous && exits !== firstExits) throw loadError(node, previous.parts, backend, previous.r);
    const doc = `${parts.v4?.doc.text ?? ""}${parts.v6 ? `#fwlab-ip6#\n${parts.v6.doc.text}` : ""}${parts.sets ? `#fwlab-ipset#\n${parts.sets.doc.text}` : ""}`;
    const own = opts.ownTables ? `#fwlab-own#\n${opts.ownTables}\n` : "";
    const r = await exec(["fwlab-ruleset", "load", backend, ...(opts.listing ? ["listing"] : [])], {
      stdin: doc + own,
    });
    if (r.exitCode === 5)
      throw new FwlabError(
        `[${node}] ruleset ${shown} is loaded, but fwlab's trace table could not be put back after it (${r.stderr.trim()}): this run cannot tell drops from timeouts on ${node}`,
      );
    if (r.exitCode === 0) {
      const restoreRules = (p?: RulesetPart) =>
        p?.doc.text.split("\n").filter((l) => l.startsWith("-A ")).length ?? 0;
      const { main, v4, v6 } = parts;
      return {
        node,
        file: path,
        ipv6File: ipv6 ?? (v6 ? path : undefined),
        format,
        backend,
        rules: nft ? countNftRules(main.doc.text) : restoreRules(v4) + restoreRules(v6),
        nflogGroups: groupsIn(doc),
        listing: opts.listing ? parseListing(r.stdout) : undefined,
        durationMs: performance.now() - started,
        // A script's settings once, though its ip6tables commands are a part of their own.
        sysctls: [v4, v6 === main.ipv6 ? undefined : v6].flatMap((p) =>
          (p?.sysctls ?? []).map((x) => ({ ...x, file: p!.shown })),
        ),
        notes: windows ? [`${shown}: ${windows}`, ...notes] : notes,
      };
    }
    const at = loadFailure(parts, backend, r);
    const key = at.docLine === undefined ? undefined : at.part.doc.skippable?.(at.docLine);
    const skipped = failed.get(at.part.shown) ?? new Set<string>();
    if ((r.exitCode !== 2 && r.exitCode !== 3) || key === undefined || skipped.has(key))
      throw loadError(node, parts, backend, r);
    if (notes.length >= MAX_SKIPPED) {
      const err = loadError(node, parts, backend, r);
      throw new FwlabError(
        `${err.message}\n(the kernel refused ${MAX_SKIPPED} rules of it before this one, which the script catches; fwlab stops there: a loop gone wrong, likely)`,
        err.exitCode,
      );
    }
    skipped.add(key);
    failed.set(at.part.shown, skipped);
    notes.push(
      `${at.part.shown} line ${at.line}: the kernel refused this rule (${at.message.trim()}, ${at.tool}); the script catches its failure, so the load went on without it, as the script would run on this kernel`,
    );
    previous = { parts, r };
  }
}

/** How many refused commands a load plays failed before it gives up (a loop gone wrong). */
const MAX_SKIPPED = 20;

interface LoadInput {
  readonly node: string;
  readonly shown: string;
  readonly text: string;
  readonly format: RulesetFormat;
  /** A separate IPv6 ruleset file, read once. */
  readonly ipv6?: { readonly shown: string; readonly text: string; readonly format: RulesetFormat };
}

/** The documents of one try, with the `failed` commands of each file played failed. */
function partsOf(
  { node, shown, text, format, ipv6 }: LoadInput,
  failed: ReadonlyMap<string, ReadonlySet<string>>,
): LoadParts & { readonly main: RulesetPart; readonly ipv6File?: RulesetPart } {
  const main = toPart(node, shown, format, text, undefined, failed.get(shown));
  if (ipv6 && main.family === "ipv6") {
    throw new InputError(
      `[${node}] ruleset ${shown} is an IPv6 ruleset (ip6tables) and ${ipv6.shown} is given as the IPv6 one too: give the IPv4 ruleset as the file`,
    );
  }
  if (ipv6 && main.ipv6) {
    throw new InputError(
      `[${node}] ruleset ${shown} holds ip6tables commands, its own IPv6 ruleset, and ${ipv6.shown} is given as the IPv6 one too: give one or the other`,
    );
  }
  const ipv6File = ipv6 && toPart(node, ipv6.shown, ipv6.format, ipv6.text, "ipv6", failed.get(ipv6.shown));
  const v4 = main.family === "ipv4" ? main : undefined;
  const v6 = ipv6File ?? (main.family === "ipv6" ? main : main.ipv6);
  if (ipv6File?.ipsets)
    throw new InputError(
      `[${node}] ruleset ${ipv6File.shown} makes ipsets: they belong in the main ruleset (${shown}), which both halves' rules match against`,
    );
  return { main, ipv6File, v4, v6, sets: main.ipsets };
}

/** The IPv6 ruleset given beside the main one: ip6tables-save or ip6tables commands. */
function readIpv6(node: string, path: string): NonNullable<LoadInput["ipv6"]> {
  const shown = displayPath(path);
  const text = readRulesetFile(path, `[${node}] ruleset ${shown}`);
  const format = detectRulesetFormat(path, text);
  if (format === "nft" || format === "nft-script")
    throw new InputError(`[${node}] ruleset ${shown}: ${NFT_NOT_IPV6}`);
  return { shown, text, format };
}

function toPart(
  node: string,
  shown: string,
  format: RulesetFormat,
  text: string,
  family?: IpFamily,
  failed?: ReadonlySet<string>,
): RulesetPart {
  switch (format) {
    case "nft":
      return { family: "ipv4", shown, text, doc: nftFileDocument(text) };
    case "iptables-save":
      return { family: family ?? detectRulesetFamily(text), shown, text, doc: restoreFileDocument(text) };
    case "nft-script":
      try {
        const doc = nftScriptDocument(text);
        return { family: "ipv4", shown, text, doc, sysctls: doc.sysctls };
      } catch (err) {
        throw scriptProblem(node, shown, text, err);
      }
    case "iptables-script":
      try {
        const doc = scriptToRestore(text, family, failed);
        return {
          family: doc.family,
          ...(doc.exitedAt !== undefined ? { exitedAt: doc.exitedAt } : {}),
          shown,
          text,
          doc,
          sysctls: doc.sysctls,
          // Its ip6tables commands: the IPv6 half, with lines of the same file; its ipsets.
          ...(doc.ipv6 ? { ipv6: { family: "ipv6", shown, text, doc: doc.ipv6 } } : {}),
          ...(doc.ipsets ? { ipsets: { family: doc.family, shown, text, doc: doc.ipsets } } : {}),
        };
      } catch (err) {
        throw scriptProblem(node, shown, text, err);
      }
  }
}

/** A script that does not play: an input error with its line, and nothing loaded. */
function scriptProblem(node: string, shown: string, text: string, err: unknown): unknown {
  if (!(err instanceof ScriptError)) return err;
  return new InputError(
    `[${node}] ruleset ${shown} line ${err.line}: ${err.message}; nothing was loaded, the previous ruleset is still active\n` +
      excerpt(text, err.line),
  );
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
