import { z } from "zod";
import { PROBE_KINDS } from "../probes/index.ts";
import { VERDICTS } from "../probes/verdict.ts";
import { BACKENDS } from "../topology/compose-schema.ts";

/**
 * A scenario file: which lab, which ruleset on which firewall node, and an ordered list of
 * steps, each a probe with an expected verdict and, optionally, expected evidence. Published as
 * JSON Schema (scenarios/scenario.schema.json) for editors.
 */
const verdict = z.enum(VERDICTS);
const port = z.number().int().min(1).max(65535);

const logExpectation = z.strictObject({
  node: z.string(),
  prefix: z
    .string()
    .optional()
    .describe(
      'the --log-prefix / --nflog-prefix, as the rule writes it (trailing spaces ignored); "" for a rule without one; omitted: any line of the node, whatever its prefix',
    ),
  source: z.enum(["LOG", "NFLOG"]).optional(),
  count: z
    .number()
    .int()
    .min(0)
    .optional()
    .describe("exact number of lines in the step (default: at least one)"),
});

const tupleExpectation = z.strictObject({
  src: z.string().optional(),
  dst: z.string().optional(),
  sport: port.optional(),
  dport: port.optional(),
});

const conntrackExpectation = z.strictObject({
  node: z.string(),
  proto: z.enum(["tcp", "udp", "icmp"]).optional(),
  state: z.string().optional().describe("TCP state the connection reached (NEW events count as seen)"),
  original: tupleExpectation.optional(),
  reply: tupleExpectation.optional(),
  nat: z.enum(["snat", "dnat", "none"]).optional(),
  helper: z.string().optional(),
  present: z.boolean().optional().describe("false: no such entry may appear (default true)"),
});

const counterExpectation = z.strictObject({
  node: z.string(),
  table: z.string().optional(),
  chain: z.string(),
  rule: z.number().int().min(1).optional(),
  comment: z.string().optional(),
  packets: z.union([z.number().int().min(0), z.strictObject({ min: z.number().int().min(0) })]),
});

const evidence = z.strictObject({
  log: z.array(logExpectation).optional(),
  logOrder: z
    .strictObject({
      node: z.string(),
      prefixes: z
        .array(z.string())
        .min(2)
        .refine((p) => new Set(p.map((x) => x.trim())).size === p.length, {
          message: "each prefix once: the order is that of each prefix's first line",
        }),
    })
    .optional()
    .describe("these prefixes' first lines appear in this order (the path through the chains)"),
  conntrackTable: z
    .array(conntrackExpectation)
    .optional()
    .describe("entries in the node's table at the end of the step (not events during it)"),
  conntrack: z.array(conntrackExpectation).optional(),
  counters: z.array(counterExpectation).optional(),
  seenFrom: z.string().optional().describe("the source address the far side saw (SNAT/MASQUERADE proof)"),
});

const common = {
  name: z.string().min(1),
  from: z.string().min(1),
  expect: verdict,
  timeoutMs: z
    .number()
    .int()
    .min(50)
    .max(120_000)
    .optional()
    .describe("the client's own timeout in ms (default 500; dig and ssh round up to whole seconds)"),
  evidence: evidence.optional(),
  family: z
    .union([z.literal(4), z.literal(6)])
    .optional()
    .describe("which of a node's addresses a target names: 4 (default) or 6 (its IPv6 address)"),
  why: z.string().optional().describe("what the step shows, in a sentence (goes into the report)"),
};

/**
 * A firewall's ruleset files: `file` (or `ipv4`, the same key named after its family, so that
 * `{ ipv4: x, ipv6: y }` reads as the pair it is) and an optional IPv6 half. Both spellings
 * come out as `{ file, ipv6 }`.
 */
const rulesetKeys = {
  file: z.string().optional().describe("the ruleset (iptables-save, script or nft)"),
  ipv4: z.string().optional().describe("the IPv4 ruleset: the same key as `file`"),
  ipv6: z
    .string()
    .optional()
    .describe("an ip6tables ruleset (ip6tables-save or script) loaded with the IPv4 one, all or nothing"),
  backend: z.enum(BACKENDS).optional(),
};
const oneRuleset = (r: { file?: string; ipv4?: string }, ctx: z.RefinementCtx) => {
  if ((r.file === undefined) !== (r.ipv4 === undefined)) return;
  ctx.addIssue({
    code: "custom",
    path: r.file === undefined ? [] : ["ipv4"],
    message:
      r.file === undefined
        ? 'missing "file" (or "ipv4"): which ruleset?'
        : '"file" and "ipv4" name the same ruleset: give one of them',
  });
};
const asFile = <T extends { file?: string; ipv4?: string }>({ file, ipv4, ...others }: T) => ({
  ...others,
  file: (file ?? ipv4) as string,
});

export const loadStep = z.strictObject({
  name: z.string().min(1),
  load: z
    .strictObject({ node: z.string(), ...rulesetKeys })
    .superRefine(oneRuleset)
    .transform(asFile),
  expect: z.enum(["loads", "fails"]).default("loads"),
  message: z.string().optional().describe("with fails: a substring of the error (e.g. line 17)"),
  why: z.string().optional(),
});
/**
 * A command in a node: its words, or one string for `sh -c` (as Compose's `command:` takes
 * either), so pipes and `;` work there: "iptables -L INPUT -n | head -1".
 */
const commandLine = z.union([
  z.array(z.string()).min(1),
  z
    .string()
    .min(1)
    .transform((line) => ["sh", "-c", line]),
]);

export const execStep = z.strictObject({
  name: z.string().min(1),
  exec: z.strictObject({
    node: z.string(),
    command: commandLine.describe('its words (["ip", "route"]), or one line for sh -c'),
  }),
  expect: z.enum(["succeeds", "fails"]).optional(),
  output: z.string().optional().describe("a substring the command's output must contain"),
  why: z.string().optional(),
});

export const sysctlStep = z.strictObject({
  name: z.string().min(1),
  sysctl: z.strictObject({
    node: z.string(),
    set: z.record(z.string().regex(/^net\./, "a net.* sysctl"), z.union([z.string(), z.number()])),
  }),
  why: z.string().optional(),
});

type WithCommon<T> =
  T extends z.ZodObject<infer Shape, infer Config>
    ? z.ZodObject<Omit<Shape, keyof typeof common> & typeof common, Config>
    : never;
type WithCommonAll<T extends readonly { schema: unknown }[]> = {
  -readonly [K in keyof T]: WithCommon<T[K]["schema"]>;
};
type ProbeStepSchemas = WithCommonAll<typeof PROBE_KINDS>;

/** Each probe kind's own keys (probes/) plus the keys every probe step has. */
export const probeStepSchemas = PROBE_KINDS.map((k) =>
  k.schema.extend(
    k.expectByDefault
      ? {
          ...common,
          expect: verdict
            .default(k.expectByDefault)
            .describe(`the verdict; ${k.expectByDefault} unless said`),
        }
      : common,
  ),
) as unknown as ProbeStepSchemas;
export const probeStepSchema = z.discriminatedUnion("probe", probeStepSchemas);
export const stepSchema = z.union([probeStepSchema, loadStep, execStep, sysctlStep]);

const rulesetRef = z.union([
  z.string(),
  z.strictObject(rulesetKeys).superRefine(oneRuleset).transform(asFile),
]);

export const scenarioSchema = z.strictObject({
  name: z.string().min(1),
  description: z.string().optional(),
  lab: z
    .string()
    .optional()
    .describe("lab file, relative to this file (default: the project's docker-compose.yml)"),
  optIn: z
    .boolean()
    .optional()
    .describe("run only with --opt-in (it changes the host, e.g. nf_conntrack_max)"),
  host: z
    .strictObject({
      sysctls: z.record(
        z.string().regex(/^net\.netfilter\./, "a net.netfilter.* sysctl"),
        z.union([z.string(), z.number()]),
      ),
    })
    .optional()
    .describe("host-wide settings (nf_conntrack_max): only in optIn scenarios; put back afterwards"),
  rulesets: z.record(z.string(), rulesetRef).optional(),
  setup: z
    .record(
      z.string(),
      z.strictObject({
        sysctls: z.record(z.string(), z.union([z.string(), z.number()])).optional(),
        commands: z.array(commandLine).optional(),
      }),
    )
    .optional(),
  steps: z.array(stepSchema).min(1),
});

export type Scenario = z.infer<typeof scenarioSchema>;
export type Step = z.infer<typeof stepSchema>;
export type ProbeStep = z.infer<typeof probeStepSchema>;
export type LoadStep = z.infer<typeof loadStep>;
export type ExecStep = z.infer<typeof execStep>;
export type SysctlStep = z.infer<typeof sysctlStep>;
export type EvidenceExpectation = z.infer<typeof evidence>;
