import { dirname, join, resolve } from "node:path";
import type { z } from "zod";
import { InputError } from "../errors.ts";
import { checkRulesetFile } from "../firewall/ruleset-file.ts";
import { PROBE_NAMES } from "../probes/index.ts";
import { isAddress } from "../probes/params.ts";
import { fileProblem, readInputFile } from "../topology/input-file.ts";
import type { LabSpec } from "../topology/lab-spec.ts";
import { resolveInProject } from "../topology/project-path.ts";
import { readLabFile } from "../topology/read-lab-file.ts";
import { parseYamlFile } from "../topology/yaml-file.ts";
import { hint } from "../util/did-you-mean.ts";
import { displayPath } from "../util/display-path.ts";
import { projectRoot } from "../util/project-root.ts";
import type { Path } from "../util/yaml-location.ts";
import {
  execStep,
  loadStep,
  probeStepSchemas,
  type Scenario,
  scenarioSchema,
  sysctlStep,
} from "./scenario-schema.ts";

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
export function readScenarioFile(
  file: string,
  opts: { labName?: string; allowUnsafe?: boolean } = {},
): LoadedScenario {
  const path = resolve(file);
  const text = readInputFile(path, {
    what: "a YAML scenario",
    maxBytes: 1024 * 1024,
    whenEmpty: "a scenario needs a name and steps",
  });
  const { data, where } = parseYamlFile(path, text);
  if (data === null || typeof data !== "object" || Array.isArray(data)) {
    throw new InputError(
      `${where([])}a scenario is a map with "name" and "steps", not ${data === null ? "nothing (only comments?)" : Array.isArray(data) ? "a list" : `a ${typeof data}`}`,
    );
  }
  const raw = data as { steps?: { probe?: unknown }[] };
  // An unknown probe gets its own message: the union's error would list every other key.
  for (const [i, s] of (Array.isArray(raw?.steps) ? raw.steps : []).entries()) {
    if (s && typeof s === "object" && "probe" in s && !PROBE_NAMES.includes(String(s.probe))) {
      throw new InputError(
        `${where(["steps", i, "probe"])}unknown probe ${JSON.stringify(s.probe)}${hint(String(s.probe), PROBE_NAMES)}; probes: ${PROBE_NAMES.join(", ")}`,
      );
    }
  }
  const parsed = scenarioSchema.safeParse(raw, { reportInput: true });
  if (!parsed.success) throw new InputError(schemaMessage(firstIssue(parsed.error), raw, where));
  const scenario = parsed.data;
  const base = dirname(path);
  const fail = (p: Path, msg: string, key?: string): never => {
    throw new InputError(`${where(p, key)}${msg}`);
  };
  // A file the scenario names: inside its project, and there (see resolveInProject).
  const named = (f: string, p: Path, what: string) => {
    const r = resolveInProject(path, f);
    if (r.problem) fail(p, r.problem);
    const problem = fileProblem(r.path);
    if (problem === "no such file") fail(p, `${what} ${displayPath(r.path)} does not exist`);
    if (problem) fail(p, `${what} ${displayPath(r.path)}: ${problem}`);
    return r.path;
  };
  const labFile = scenario.lab
    ? named(scenario.lab, ["lab"], "lab file")
    : join(projectRoot(), "docker-compose.yml");
  // --name renames the default lab (several copies of it can run); other lab files keep theirs.
  const isDefault = labFile === join(projectRoot(), "docker-compose.yml");
  const lab = readLabFile(labFile, {
    name: isDefault ? opts.labName : undefined,
    allowUnsafe: opts.allowUnsafe,
  });
  const nodes = lab.nodes.map((n) => n.name);
  const node = (name: string, p: Path, key?: string) => {
    const n = lab.nodes.find((x) => x.name === name);
    // A host name as the lab's DNS knows it (web.lab): a step names the node itself.
    const host = name.includes(".") ? lab.nodes.find((x) => x.name === name.split(".")[0]) : undefined;
    if (!n && host)
      fail(p, `"${name}" is a host name; a step names the node ("${host.name}") or an address`, key);
    if (!n)
      fail(
        p,
        `unknown node "${name}"${hint(name, nodes)} in lab ${displayPath(labFile)}; nodes: ${nodes.join(", ")}${
          name.includes(".")
            ? " (a step's target is a node or an address; a name is what a dns step asks for)"
            : ""
        }`,
        key,
      );
    return n!;
  };
  if (scenario.host && !scenario.optIn)
    fail(["host"], "host-wide settings change every namespace: only an optIn: true scenario may have them");
  for (const [n, ref] of Object.entries(scenario.rulesets ?? {})) {
    if (!node(n, ["rulesets"], n).firewall) fail(["rulesets"], `"${n}" is not a firewall node`, n);
    const file = named(typeof ref === "string" ? ref : ref.file, ["rulesets", n], "file");
    try {
      // Scripts are played now: a typo at line 17 stops the run before anything starts.
      checkRulesetFile(file, `ruleset ${displayPath(file)}`);
      if (typeof ref !== "string" && ref.ipv6) {
        const six = named(ref.ipv6, ["rulesets", n], "ipv6");
        checkRulesetFile(six, `ruleset ${displayPath(six)}`, { ipv6: true });
      }
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      fail(["rulesets", n], err.message);
    }
  }
  for (const n of Object.keys(scenario.setup ?? {})) node(n, ["setup"], n);
  scenario.steps.forEach((s, i) => {
    const at = ["steps", i] as const;
    if ("probe" in s) {
      node(s.from, [...at, "from"]);
      const to = "to" in s ? s.to : s.server;
      const name = to.split(":")[0]!;
      if (!isAddress(to)) {
        const target = node(name, [...at, "to" in s ? "to" : "server"]);
        const net = to.split(":")[1];
        if (net && !target.interfaces.some((x) => x.network === net))
          fail([...at, "to"], `"${name}" is not on network "${net}"`);
        if (s.family === 6 && !target.interfaces.some((x) => x.address6 && (!net || x.network === net)))
          fail(
            [...at, "family"],
            `"${name}" has no IPv6 address${net ? ` on network "${net}"` : ""} in lab ${lab.name}`,
          );
      }
      if (s.family === 6 && !lab.nodes.find((x) => x.name === s.from)?.interfaces.some((x) => x.address6))
        fail(
          [...at, "family"],
          `"${s.from}" has no IPv6 address in lab ${lab.name}: it cannot probe over IPv6`,
        );
      for (const l of s.evidence?.log ?? []) node(l.node, [...at, "evidence", "log"]);
      for (const c of s.evidence?.conntrack ?? []) node(c.node, [...at, "evidence", "conntrack"]);
      for (const c of s.evidence?.counters ?? []) node(c.node, [...at, "evidence", "counters"]);
    } else if ("load" in s) {
      if (!node(s.load.node, [...at, "load", "node"]).firewall)
        fail([...at, "load", "node"], `"${s.load.node}" is not a firewall node`);
      // Only read when the step runs: a load step may expect a broken file to fail.
      named(s.load.file, [...at, "load", "file"], "file");
    } else if ("sysctl" in s) {
      node(s.sysctl.node, [...at, "sysctl", "node"]);
    } else {
      node(s.exec.node, [...at, "exec", "node"]);
    }
  });
  return { file: path, scenario, lab, path: (p) => resolve(base, p) };
}

/** The schema of a step, told by its keys (a probe step by its probe). */
function schemaOfStep(step: unknown): z.ZodObject | undefined {
  if (!step || typeof step !== "object") return undefined;
  if ("probe" in step)
    return (probeStepSchemas as readonly z.ZodObject[]).find((o) =>
      o.shape.probe?.def.values?.includes(step.probe),
    );
  if ("load" in step) return loadStep;
  if ("exec" in step) return execStep;
  if ("sysctl" in step) return sysctlStep;
  return undefined;
}

/** One schema issue as `file:line:col: path: what is wrong`; for a step, its own kind's issue. */
function schemaMessage(
  issue: z.core.$ZodIssue,
  raw: unknown,
  where: (p: Path, key?: string) => string,
  known?: readonly string[],
): string {
  const p = issue.path.filter((x): x is string | number => typeof x !== "symbol");
  const keys = known ?? (p.length === 0 ? Object.keys(scenarioSchema.shape) : []);
  if (issue.code === "invalid_union" && p[0] === "steps" && p.length === 2) {
    const step = (raw as { steps: unknown[] }).steps[Number(p[1])];
    const schema = schemaOfStep(step);
    const r = schema?.safeParse(step, { reportInput: true });
    if (schema && r?.success === false) {
      const inner = firstIssue(r.error);
      const own = inner.path.length === 0 ? Object.keys(schema.shape) : [];
      return schemaMessage({ ...inner, path: [...p, ...inner.path] }, raw, where, own);
    }
    return `${where(p)}not a valid step: a step has "probe" (${PROBE_NAMES.join(", ")}), "load", "exec" or "sysctl"`;
  }
  // A value that may be written two ways (a file name or a map): what is wrong with the map.
  if (issue.code === "invalid_union" && issue.errors.length > 0) {
    const branch =
      issue.errors.find((b) => !b.some((i) => i.path.length === 0 && i.code === "invalid_type")) ??
      issue.errors[0]!;
    const inner = branch.find((i) => i.code === "unrecognized_keys") ?? branch[0];
    if (inner) return schemaMessage({ ...inner, path: [...p, ...inner.path] }, raw, where);
  }
  if (issue.code === "unrecognized_keys") {
    const key = issue.keys[0]!;
    return `${where(p, key)}unknown key "${key}"${hint(key, keys)}`;
  }
  if ((issue.code === "invalid_type" || issue.code === "invalid_value") && issue.input === undefined)
    return `${where(p.slice(0, -1))}missing "${String(p.at(-1))}"`;
  return `${where(p)}${issue.message}`;
}

/** An unknown key first: a misspelt key also makes the key it meant missing. */
const firstIssue = (error: z.ZodError): z.core.$ZodIssue =>
  error.issues.find((i) => i.code === "unrecognized_keys") ?? error.issues[0]!;
