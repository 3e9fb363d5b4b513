import { resolve } from "node:path";
import type { z } from "zod";
import { InputError } from "../errors.ts";
import { checkRulesetFile } from "../firewall/ruleset-file.ts";
import { hint } from "../util/did-you-mean.ts";
import { displayPath } from "../util/display-path.ts";
import type { Path } from "../util/yaml-location.ts";
import {
  type ComposeFile,
  type ComposeService,
  composeSchema,
  networkSchema,
  nodeExtensionSchema,
  serviceSchema,
} from "./compose-schema.ts";
import { fileProblem, readInputFile } from "./input-file.ts";
import { cidrContains, cidrsOverlap, isNetworkOrBroadcast, parseCidr, parseIpv4 } from "./ipv4.ts";
import { type Cidr6, canonicalIpv6, cidr6Contains, formatIpv6, parseCidr6, parseIpv6 } from "./ipv6.ts";
import { ipv6SubnetEntry } from "./ipv6-subnet-entry.ts";
import type { LabSpec, NetworkSpec, NodeSpec } from "./lab-spec.ts";
import { resolveInProject } from "./project-path.ts";
import type { Role } from "./roles.ts";
import { unsafeAsks } from "./unsafe-options.ts";
import { parseYamlFile } from "./yaml-file.ts";

const NAME = /^[a-z][a-z0-9-]{0,19}$/;
const LAB_NAME = /^[a-z][a-z0-9-]{0,29}$/;
const MAX_BYTES = 1024 * 1024;

/**
 * Reads and validates a lab file (Compose subset + x-fwlab). Every problem is an InputError
 * naming the file, line and column, and the key path: `lab.yml:12:7: services.fw.x-fwlab.role: ...`.
 */
export function readLabFile(file: string, opts: { name?: string; allowUnsafe?: boolean } = {}): LabSpec {
  const path = resolve(file);
  const text = readInputFile(path, {
    what: "a YAML lab file",
    maxBytes: MAX_BYTES,
    whenEmpty: "a lab file needs services and networks",
  });
  const { data, where } = parseYamlFile(path, text);
  if (data === null || typeof data !== "object" || Array.isArray(data)) {
    throw new InputError(
      `${where([])}a lab file is a map with "services" and "networks", not ${data === null ? "nothing (only comments?)" : Array.isArray(data) ? "a list" : `a ${typeof data}`}`,
    );
  }
  const parsed = composeSchema.safeParse(data, { reportInput: true });
  if (!parsed.success) throw new InputError(schemaMessage(parsed.error, where));
  return buildLab(path, parsed.data, where, opts.name, opts.allowUnsafe ?? false);
}

function buildLab(
  file: string,
  c: ComposeFile,
  where: (p: Path, key?: string) => string,
  nameOpt: string | undefined,
  allowUnsafe: boolean,
): LabSpec {
  const fail = (p: Path, msg: string, key?: string): never => {
    throw new InputError(`${where(p, key)}${msg}`);
  };
  const rule = 'lower-case letters, digits and "-", at most 30';
  // The file's own name is checked even when --name replaces it: the file is wrong either way.
  const own = c["x-fwlab"]?.name;
  if (own !== undefined && !LAB_NAME.test(own))
    fail(["x-fwlab", "name"], `lab name ${JSON.stringify(own)}: ${rule}`);
  if (nameOpt !== undefined && !LAB_NAME.test(nameOpt))
    throw new InputError(`lab name ${JSON.stringify(nameOpt)} (--name): ${rule}`);
  const name = nameOpt ?? own ?? "fwlab";

  const networks: NetworkSpec[] = [];
  const cidrs = new Map<string, ReturnType<typeof parseCidr> & object>();
  const cidrs6 = new Map<string, Cidr6>();
  for (const [net, spec] of Object.entries(c.networks)) {
    if (!/^[a-z][a-z0-9-]{0,14}$/.test(net)) {
      fail(
        ["networks"],
        `network name ${JSON.stringify(net)}: lower-case letters, digits and "-", at most 15 (it names an interface)`,
        net,
      );
    }
    const cfg = spec.ipam.config[0]!;
    const cidr = parseCidr(cfg.subnet);
    if (!cidr)
      fail(
        ["networks", net, "ipam", "config", 0, "subnet"],
        `not an IPv4 subnet: ${JSON.stringify(cfg.subnet)}`,
      );
    for (const [other, o] of cidrs) {
      if (cidrsOverlap(cidr!, o)) {
        fail(
          ["networks", net, "ipam", "config", 0, "subnet"],
          `subnet ${cfg.subnet} overlaps network "${other}" (${o.text})`,
        );
      }
    }
    if (cfg.gateway !== undefined) {
      const gw = parseIpv4(cfg.gateway);
      if (gw === undefined || !cidrContains(cidr!, gw)) {
        fail(
          ["networks", net, "ipam", "config", 0, "gateway"],
          `gateway ${cfg.gateway} is outside the subnet ${cfg.subnet}`,
        );
      }
    }
    cidrs.set(net, cidr!);
    const subnet6 = ipv6SubnetEntry(net, spec, cidrs6, fail);
    networks.push({
      name: net,
      subnet: cfg.subnet,
      bridgeGateway: cfg.gateway,
      ...(subnet6 ? { subnet6 } : {}),
    });
  }

  const taken = new Map<string, string>(); // address → node
  const nodes: NodeSpec[] = [];
  for (const [node, svc] of Object.entries(c.services)) {
    if (!NAME.test(node)) {
      fail(
        ["services"],
        `node name ${JSON.stringify(node)}: lower-case letters, digits and "-", at most 20`,
        node,
      );
    }
    const unsafe = unsafeAsks(svc);
    if (unsafe.length && !allowUnsafe) {
      const first = unsafe[0]!;
      fail(
        ["services", node, ...first.key],
        `${first.what}. A lab file cannot grant this itself: run with --allow-unsafe to allow it${unsafe.length > 1 ? ` (and ${unsafe.length - 1} more such ask${unsafe.length > 2 ? "s" : ""} in "${node}")` : ""}`,
      );
    }
    nodes.push(buildNode(file, node, svc, cidrs, cidrs6, taken, fail));
  }
  if (nodes.length === 0) fail(["services"], "a lab needs at least one node");

  // A node with IPv6 routes IPv6 through the node it routes IPv4 through, unless told otherwise.
  for (const [i, n] of nodes.entries()) {
    if (n.gateway6 || !n.gateway || !n.interfaces.some((f) => f.address6)) continue;
    const via = nodes.find((o) => o.interfaces.some((f) => f.address === n.gateway));
    const on = via?.interfaces.find((f) => f.address === n.gateway);
    if (on?.address6) nodes[i] = { ...n, gateway6: on.address6 };
  }
  // Gateways and route next hops must be lab nodes: nothing routes off the lab.
  for (const n of nodes) {
    const hops = [
      ...(n.gateway ? [{ at: ["services", n.name, "x-fwlab", "gateway"], ip: n.gateway }] : []),
      ...(n.gateway6 ? [{ at: ["services", n.name, "x-fwlab", "gateway6"], ip: n.gateway6 }] : []),
    ];
    for (const r of n.routes) hops.push({ at: ["services", n.name, "x-fwlab", "routes", r.to], ip: r.via });
    for (const h of hops) {
      const owner = taken.get(h.ip);
      if (!owner) fail(h.at, `${h.ip} is not the address of any node in this lab`);
      if (owner === n.name) fail(h.at, `${h.ip} is this node's own address`);
    }
  }
  const hosts = c["x-fwlab"]?.hosts;
  if (hosts) {
    const dup = hosts.find((h, i) => hosts.indexOf(h) !== i);
    if (dup) fail(["x-fwlab", "hosts"], `host ${JSON.stringify(dup)} is listed twice`);
  }
  for (const n of nodes) {
    if (n.host === undefined) continue;
    const at = ["services", n.name, "x-fwlab", "host"];
    if (!hosts)
      fail(at, `host ${JSON.stringify(n.host)}: list the lab's engines first (x-fwlab.hosts at the top)`);
    if (!hosts!.includes(n.host))
      fail(
        at,
        `host ${JSON.stringify(n.host)} is not one of x-fwlab.hosts (${hosts!.join(", ")})${hint(n.host, hosts!)}`,
      );
  }
  return { name, file, domain: c["x-fwlab"]?.domain ?? "lab", networks, nodes, ...(hosts ? { hosts } : {}) };
}

function buildNode(
  file: string,
  node: string,
  svc: ComposeService,
  cidrs: Map<string, { text: string; network: number; prefix: number }>,
  cidrs6: Map<string, Cidr6>,
  taken: Map<string, string>,
  fail: (p: Path, msg: string, key?: string) => never,
): NodeSpec {
  const at = (...p: (string | number)[]) => ["services", node, ...p];
  const x = svc["x-fwlab"];
  const interfaces = Object.entries(svc.networks).map(([net, ep]) => {
    const cidr = cidrs.get(net);
    if (!cidr) fail(at("networks"), `unknown network "${net}"${hint(net, [...cidrs.keys()])}`, net);
    const ip = parseIpv4(ep.ipv4_address);
    if (ip === undefined)
      fail(at("networks", net, "ipv4_address"), `not an IPv4 address: ${ep.ipv4_address}`);
    if (!cidrContains(cidr!, ip!) || isNetworkOrBroadcast(cidr!, ip!)) {
      fail(
        at("networks", net, "ipv4_address"),
        `${ep.ipv4_address} is not a host address of ${net} (${cidr!.text})`,
      );
    }
    const owner = taken.get(ep.ipv4_address);
    if (owner)
      fail(at("networks", net, "ipv4_address"), `${ep.ipv4_address} is already the address of "${owner}"`);
    taken.set(ep.ipv4_address, node);
    const address6 = ep.ipv6_address === undefined ? undefined : v6Address(net, ep.ipv6_address);
    return {
      network: net,
      address: ep.ipv4_address,
      ifname: x.interfaces?.[net] ?? net,
      ...(address6 ? { address6 } : {}),
    };
  });
  function v6Address(net: string, text: string): string {
    const key = at("networks", net, "ipv6_address");
    const cidr = cidrs6.get(net);
    if (!cidr) fail(key, `network ${net} has no IPv6 subnet (enable_ipv6 and a second ipam.config entry)`);
    const ip = parseIpv6(text);
    if (ip === undefined) fail(key, `not an IPv6 address: ${text}`);
    if (!cidr6Contains(cidr!, ip!) || ip === cidr!.network)
      fail(key, `${text} is not a host address of ${net} (${cidr!.text})`);
    const canonical = formatIpv6(ip!);
    const owner = taken.get(canonical);
    if (owner) fail(key, `${text} is already the address of "${owner}"`);
    taken.set(canonical, node);
    return canonical;
  }
  if (interfaces.length === 0) fail(at("networks"), "a node needs at least one network");
  for (const net of Object.keys(x.interfaces ?? {})) {
    if (!svc.networks[net]) fail(at("x-fwlab", "interfaces"), `"${node}" is not on network "${net}"`, net);
  }

  const onLink = (ip: string) => interfaces.some((i) => cidrContains(cidrs.get(i.network)!, parseIpv4(ip)!));
  if (x.gateway !== undefined) {
    if (parseIpv4(x.gateway) === undefined)
      fail(at("x-fwlab", "gateway"), `not an IPv4 address: ${x.gateway}`);
    if (!onLink(x.gateway)) {
      fail(
        at("x-fwlab", "gateway"),
        `gateway ${x.gateway} is outside this node's networks (${interfaces.map((i) => cidrs.get(i.network)!.text).join(", ")})`,
      );
    }
  }
  const onLink6 = (ip: string) =>
    interfaces.some((i) => i.address6 && cidr6Contains(cidrs6.get(i.network)!, parseIpv6(ip)!));
  let gateway6: string | undefined;
  if (x.gateway6 !== undefined) {
    if (parseIpv6(x.gateway6) === undefined)
      fail(at("x-fwlab", "gateway6"), `not an IPv6 address: ${x.gateway6}`);
    if (!onLink6(x.gateway6))
      fail(at("x-fwlab", "gateway6"), `gateway6 ${x.gateway6} is outside this node's IPv6 networks`);
    gateway6 = canonicalIpv6(x.gateway6);
  }
  const routes = Object.entries(x.routes ?? {}).map(([to, via]) => {
    if (parseCidr6(to)) {
      if (parseIpv6(via) === undefined || !onLink6(via))
        fail(at("x-fwlab", "routes", to), `next hop ${via} is not on this node's IPv6 networks`);
      return { to, via: canonicalIpv6(via)! };
    }
    if (!parseCidr(to)) fail(at("x-fwlab", "routes"), `not an IPv4 or IPv6 subnet: ${to}`, to);
    if (parseIpv4(via) === undefined || !onLink(via))
      fail(at("x-fwlab", "routes", to), `next hop ${via} is not on this node's networks`);
    return { to, via };
  });
  (x.dns ?? []).forEach((ip, i) => {
    if (parseIpv4(ip) === undefined && parseIpv6(ip) === undefined)
      fail(at("x-fwlab", "dns", i), `not an IP address: ${ip}`);
  });

  const capAdd = svc.cap_add ?? [];
  if (!capAdd.includes("NET_ADMIN")) {
    fail(at("cap_add"), "fwlab nodes need NET_ADMIN (the node sets its own routes and interface names)");
  }

  let ruleset: string | undefined;
  if (x.ruleset !== undefined) {
    const named = resolveInProject(file, x.ruleset);
    ruleset = named.path;
    if (named.problem) fail(at("x-fwlab", "ruleset"), named.problem);
    const problem = fileProblem(ruleset);
    const shown = displayPath(ruleset);
    if (problem === "no such file") fail(at("x-fwlab", "ruleset"), `ruleset file ${shown} does not exist`);
    try {
      // Read and, for a script, played now: its errors stop `up` before anything starts.
      checkRulesetFile(ruleset, `ruleset file ${shown}`);
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      fail(at("x-fwlab", "ruleset"), err.message);
    }
  }
  const firewall = x.firewall ?? x.role === "firewall";
  if (x.backend && !firewall)
    fail(at("x-fwlab", "backend"), "backend is only for firewall nodes (firewall: true)");
  if (ruleset && !firewall)
    fail(at("x-fwlab", "ruleset"), "a ruleset is only for firewall nodes (firewall: true)");

  return {
    name: node,
    role: x.role as Role,
    image: svc.image,
    hostname: svc.hostname ?? node,
    firewall,
    backend: x.backend ?? "iptables-nft",
    gateway: x.gateway,
    ...(gateway6 ? { gateway6 } : {}),
    routes,
    dns: x.dns ?? [],
    interfaces,
    capAdd,
    sysctls: svc.sysctls ?? {},
    environment: svc.environment ?? {},
    command: (svc.command ?? []).map(String),
    labels: svc.labels ?? {},
    ruleset,
    privileged: svc.privileged ?? false,
    hostNamespaces: Object.fromEntries(
      (["pid", "ipc", "uts", "userns_mode"] as const).flatMap((k) => (svc[k] ? [[k, svc[k]]] : [])),
    ),
    binds: (svc.volumes ?? []).map((v) =>
      typeof v === "string" ? v : `${v.source}:${v.target}${v.read_only ? ":ro" : ""}`,
    ),
    ...(x.host !== undefined ? { host: x.host } : {}),
  };
}

function schemaMessage(error: z.ZodError, where: (p: Path, key?: string) => string): string {
  // An unknown key first: a misspelt key also makes the key it meant missing.
  const issue = error.issues.find((i) => i.code === "unrecognized_keys") ?? error.issues[0]!;
  const path = issue.path.filter((p): p is string | number => typeof p !== "symbol");
  if (issue.code === "unrecognized_keys") {
    const key = issue.keys[0]!;
    if (key === "network_mode" && path[0] === "services")
      return `${where(path, key)}network_mode is not for lab nodes: fwlab wires every node's networks itself (networks:), and no node shares the host's network, even with --allow-unsafe`;
    const known = knownKeys(path);
    return `${where(path, key)}unknown key "${key}"${hint(key, known)}; fwlab reads ${known.join(", ")} here (see README "Lab files")`;
  }
  if (issue.code === "invalid_key") {
    return `${where(path.slice(0, -1), String(path.at(-1)))}${issue.issues[0]?.message ?? issue.message}`;
  }
  if ((issue.code === "invalid_type" || issue.code === "invalid_value") && issue.input === undefined) {
    return `${where(path.slice(0, -1))}missing "${String(path.at(-1))}"`;
  }
  return `${where(path)}${issue.message}`;
}

/** The keys fwlab accepts at a path, for unknown-key messages. */
function knownKeys(path: Path): string[] {
  const shape = (s: unknown) => Object.keys((s as { shape?: object }).shape ?? {});
  const p = path.filter((x) => typeof x === "string") as string[];
  if (p.length === 0) return shape(composeSchema);
  if (p[0] === "x-fwlab") return ["name", "domain", "hosts"];
  if (p[0] === "services" && p.length === 2) return shape(composeSchemaShape.service);
  if (p[0] === "services" && p[2] === "x-fwlab") return shape(composeSchemaShape.node);
  if (p[0] === "services" && p[2] === "networks") return ["ipv4_address", "ipv6_address", "aliases"];
  if (p[0] === "networks" && p.length === 2) return shape(composeSchemaShape.network);
  if (p[0] === "networks" && p.includes("config")) return ["subnet", "gateway"];
  if (p[0] === "networks" && p[2] === "ipam") return ["driver", "config"];
  return [];
}

const composeSchemaShape = { service: serviceSchema, node: nodeExtensionSchema, network: networkSchema };
