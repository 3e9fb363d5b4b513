import { z } from "zod";
import { ROLE_NAMES } from "./roles.ts";

/**
 * The subset of the Compose format fwlab reads (docker-compose 1.29 accepts all of it), plus
 * `x-fwlab` keys for what Compose cannot say. Unknown keys are errors, not silently ignored:
 * a misspelt key would otherwise change the lab without anyone noticing.
 */
const scalar = z.union([z.string(), z.number(), z.boolean()]).transform(String);
const stringMap = z.union([
  z.record(z.string(), scalar),
  z
    .array(z.string().regex(/^[^=]+=/, "expected KEY=VALUE"))
    .transform((a) =>
      Object.fromEntries(a.map((s) => [s.slice(0, s.indexOf("=")), s.slice(s.indexOf("=") + 1)])),
    ),
]);

// Names end up in /etc/hosts, resolv.conf, Docker's API and the node's environment: plain
// names only, so no value can carry a second line, a second sysctl or a shell command.
const label = "[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?";
const hostname = z
  .string()
  .regex(new RegExp(`^${label}$`), 'a hostname: letters, digits and "-", at most 63');
const domain = z
  .string()
  .regex(new RegExp(`^${label}(\\.${label})*$`), 'a DNS domain such as "lab" or "lab.example"');
const image = z
  .string()
  .regex(/^[a-z0-9][a-zA-Z0-9._/:@-]*$/, 'an image reference such as "fwlab/firewall:latest"');
const sysctls = stringMap.pipe(
  z.record(
    z.string().regex(/^[a-z][a-z0-9_]*(\.[a-zA-Z0-9_-]+)+$/, 'a sysctl name such as "net.ipv4.ip_forward"'),
    z.string().regex(/^[^\n\r\0]*$/, "a sysctl value on one line"),
  ),
);

export const BACKENDS = ["iptables-nft", "iptables-legacy", "nft"] as const;
export const isBackend = (s: string): s is (typeof BACKENDS)[number] =>
  (BACKENDS as readonly string[]).includes(s);

export const nodeExtensionSchema = z.strictObject({
  role: z.enum(ROLE_NAMES as [string, ...string[]], {
    error: (i) => `unknown role ${JSON.stringify(i.input)}; known roles: ${ROLE_NAMES.join(", ")}`,
  }),
  firewall: z.boolean().optional(),
  backend: z.enum(BACKENDS).optional(),
  gateway: z.string().optional(),
  /** The IPv6 default gateway; without it, the IPv6 address of the node `gateway` names, if it has one. */
  gateway6: z.string().optional(),
  routes: z.record(z.string(), z.string()).optional(),
  dns: z.array(z.string()).optional(),
  ruleset: z.string().optional(),
  interfaces: z
    .record(z.string(), z.string().regex(/^[a-zA-Z][a-zA-Z0-9_.-]{0,14}$/, "an interface name"))
    .optional(),
  /** Which of the lab's `hosts` runs the node (README "Several hosts"). */
  host: z.string().min(1).optional(),
});

/** A bind mount: "source:target[:ro]" or { type: bind, source, target, read_only }. */
const volume = z.union([
  z.string().regex(/^[^:]+:\/[^:]*(:(ro|rw))?$/, 'a volume "SOURCE:/TARGET" or "SOURCE:/TARGET:ro"'),
  z.strictObject({
    type: z.literal("bind"),
    source: z.string(),
    target: z.string().regex(/^\//, "an absolute path in the node"),
    read_only: z.boolean().optional(),
  }),
]);

export const serviceSchema = z.strictObject({
  image,
  hostname: hostname.optional(),
  cap_add: z.array(z.string().regex(/^[A-Za-z_]+$/, "a capability name such as NET_ADMIN")).optional(),
  // Accepted only with --allow-unsafe (see unsafe-options.ts): they reach beyond the lab.
  privileged: z.boolean().optional(),
  pid: z.literal("host").optional(),
  ipc: z.literal("host").optional(),
  uts: z.literal("host").optional(),
  userns_mode: z.literal("host").optional(),
  volumes: z.array(volume).optional(),
  sysctls: sysctls.optional(),
  environment: stringMap.optional(),
  command: z.union([z.string().transform((s) => s.split(/\s+/).filter(Boolean)), z.array(scalar)]).optional(),
  labels: stringMap.optional(),
  networks: z.record(
    z.string(),
    z.strictObject({
      ipv4_address: z.string(),
      ipv6_address: z.string().optional(),
      aliases: z.array(z.string()).optional(),
    }),
    { error: "networks: a map of network name to { ipv4_address: ..., ipv6_address: ... }" },
  ),
  "x-fwlab": nodeExtensionSchema,
});

export const networkSchema = z.strictObject({
  driver: z.literal("bridge").optional(),
  internal: z.literal(true, {
    error: "every lab network must be internal: true (a lab never reaches outside)",
  }),
  labels: stringMap.optional(),
  /** With a second, IPv6 ipam.config entry: a dual-stack network (README "IPv6"). */
  enable_ipv6: z.boolean().optional(),
  ipam: z.strictObject({
    driver: z.literal("default").optional(),
    config: z
      .array(z.strictObject({ subnet: z.string(), gateway: z.string().optional() }))
      .min(1, { error: "ipam.config: an IPv4 { subnet, gateway } entry (and an IPv6 one with enable_ipv6)" })
      .max(2, { error: "ipam.config: at most an IPv4 and an IPv6 entry" }),
  }),
});

export const composeSchema = z.strictObject({
  version: z.union([z.string(), z.number()]).optional(),
  "x-fwlab": z
    .strictObject({
      name: z.string().optional(),
      domain: domain.optional(),
      /** The engines the lab spans: docker context names or engine URLs (README "Several hosts"). */
      hosts: z.array(z.string().min(1)).min(1).optional(),
    })
    .optional(),
  services: z.record(z.string(), serviceSchema),
  networks: z.record(z.string(), networkSchema),
});

export type ComposeFile = z.infer<typeof composeSchema>;
export type ComposeService = z.infer<typeof serviceSchema>;
