import { accessSync, constants, readFileSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { LineCounter, parseDocument } from "yaml";
import { InputError } from "../errors.ts";
import type { LabSpec } from "../topology/lab-spec.ts";
import { readLabFile } from "../topology/read-lab-file.ts";
import { hint } from "../util/did-you-mean.ts";
import { displayPath } from "../util/display-path.ts";
import { projectRoot } from "../util/project-root.ts";
import { location, type Path } from "../util/yaml-location.ts";
import { PROBES, type Scenario, scenarioSchema } from "./scenario-schema.ts";

export interface LoadedScenario {
  readonly file: string;
  readonly scenario: Scenario;
  readonly lab: LabSpec;
  /** Every path the scenario names (rulesets, load steps), resolved against its file. */
  readonly path: (p: string) => string;
}

/**
 * Reads a scenario file and checks it against its lab before anything runs: unknown nodes,
 * probes, keys, missing ruleset files and non-firewall ruleset targets are InputErrors naming
 * the file, line and column.
 */
export function readScenarioFile(file: string, opts: { labName?: string } = {}): LoadedScenario {
  const path = resolve(file);
  let text: string;
  try {
    if (!statSync(path).isFile()) throw new Error("not a file");
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new InputError(
      `${displayPath(path)}: ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (err as Error).message}`,
    );
  }
  if (text.trim() === "")
    throw new InputError(`${displayPath(path)}: the file is empty; a scenario needs a name and steps`);
  if (text.includes("\0")) throw new InputError(`${displayPath(path)}: binary data, not a YAML scenario`);
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const where = (p: Path, key?: string) => location(path, doc.contents, lines, p, key);
  if (doc.errors[0]) {
    const pos = lines.linePos(doc.errors[0].pos[0]);
    throw new InputError(
      `${displayPath(path)}:${pos.line}:${pos.col}: YAML: ${doc.errors[0].message.split("\n")[0]}`,
    );
  }
  const raw = doc.toJS() as { steps?: { probe?: unknown }[] };
  // An unknown probe gets its own message: the union's error would list every other key.
  for (const [i, s] of (Array.isArray(raw?.steps) ? raw.steps : []).entries()) {
    if (s && typeof s === "object" && "probe" in s && !PROBES.includes(s.probe as never)) {
      throw new InputError(
        `${where(["steps", i, "probe"])}unknown probe ${JSON.stringify(s.probe)}${hint(String(s.probe), PROBES)}; probes: ${PROBES.join(", ")}`,
      );
    }
  }
  const parsed = scenarioSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const p = issue.path.filter((x): x is string | number => typeof x !== "symbol");
    const msg =
      issue.code === "unrecognized_keys"
        ? `${where(p, issue.keys[0])}unknown key "${issue.keys[0]}"`
        : issue.code === "invalid_type" && issue.input === undefined
          ? `${where(p.slice(0, -1))}missing "${String(p.at(-1))}"`
          : issue.code === "invalid_union"
            ? `${where(p)}not a valid step: a step has "probe" (${PROBES.join(", ")}), "load", "exec" or "sysctl"`
            : `${where(p)}${issue.message}`;
    throw new InputError(msg);
  }
  const scenario = parsed.data;
  const base = dirname(path);
  const labFile = scenario.lab ? resolve(base, scenario.lab) : join(projectRoot(), "docker-compose.yml");
  // --name renames the default lab (several copies of it can run); other lab files keep theirs.
  const isDefault = labFile === join(projectRoot(), "docker-compose.yml");
  const lab = readLabFile(labFile, { name: isDefault ? opts.labName : undefined });
  const fail = (p: Path, msg: string, key?: string): never => {
    throw new InputError(`${where(p, key)}${msg}`);
  };
  const nodes = lab.nodes.map((n) => n.name);
  const node = (name: string, p: Path, key?: string) => {
    const n = lab.nodes.find((x) => x.name === name);
    if (!n)
      fail(
        p,
        `unknown node "${name}"${hint(name, nodes)} in lab ${displayPath(labFile)}; nodes: ${nodes.join(", ")}`,
        key,
      );
    return n!;
  };
  const mustRead = (f: string, p: Path) => {
    const full = resolve(base, f);
    try {
      accessSync(full, constants.R_OK);
    } catch {
      fail(p, `file ${displayPath(full)} does not exist or is not readable`);
    }
    return full;
  };
  if (scenario.host && !scenario.optIn)
    fail(["host"], "host-wide settings change every namespace: only an optIn: true scenario may have them");
  for (const [n, ref] of Object.entries(scenario.rulesets ?? {})) {
    if (!node(n, ["rulesets"], n).firewall) fail(["rulesets"], `"${n}" is not a firewall node`, n);
    mustRead(typeof ref === "string" ? ref : ref.file, ["rulesets", n]);
  }
  for (const n of Object.keys(scenario.setup ?? {})) node(n, ["setup"], n);
  scenario.steps.forEach((s, i) => {
    const at = ["steps", i] as const;
    if ("probe" in s) {
      node(s.from, [...at, "from"]);
      const to = "to" in s ? s.to : s.server;
      const name = to.split(":")[0]!;
      if (!/^\d+\.\d+\.\d+\.\d+$/.test(to)) {
        const target = node(name, [...at, "to" in s ? "to" : "server"]);
        const net = to.split(":")[1];
        if (net && !target.interfaces.some((x) => x.network === net))
          fail([...at, "to"], `"${name}" is not on network "${net}"`);
      }
      for (const l of s.evidence?.log ?? []) node(l.node, [...at, "evidence", "log"]);
      for (const c of s.evidence?.conntrack ?? []) node(c.node, [...at, "evidence", "conntrack"]);
      for (const c of s.evidence?.counters ?? []) node(c.node, [...at, "evidence", "counters"]);
    } else if ("load" in s) {
      if (!node(s.load.node, [...at, "load", "node"]).firewall)
        fail([...at, "load", "node"], `"${s.load.node}" is not a firewall node`);
      mustRead(s.load.file, [...at, "load", "file"]);
    } else if ("sysctl" in s) {
      node(s.sysctl.node, [...at, "sysctl", "node"]);
    } else {
      node(s.exec.node, [...at, "exec", "node"]);
    }
  });
  return { file: path, scenario, lab, path: (p) => resolve(base, p) };
}
