import { InputError } from "../errors.ts";
import { hint } from "../util/did-you-mean.ts";
import type { LabSpec } from "./lab-spec.ts";

/**
 * Puts every node of a lab on one of its hosts (README "Several hosts"). The hosts are the lab
 * file's `x-fwlab.hosts`, or those given with `fwlab up --hosts`, which replace them. A node's
 * own `x-fwlab.host` wins; the others are placed by one rule:
 *  - firewall nodes (`firewall: true`, or role firewall) go on the second host (the first, when
 *    there is one host);
 *  - the lab's networks, in the order the file lists them, are dealt in turn to the other hosts
 *    (all hosts, when there is one), and every other node goes where its first network went.
 * The default lab on hosts a,b,c: fw on b; lan → a, dmz → c, wan → a; so client, inet and extdns
 * on a, the dmz servers on c. A lab without hosts is returned as it is (one engine, bridges).
 */
export function placeLab(spec: LabSpec, hostsOption?: readonly string[]): LabSpec {
  if (spec.placed && !hostsOption) return spec;
  const env = envHosts();
  const hosts = hostsOption ?? env ?? spec.hosts;
  if (!hosts || hosts.length === 0) return spec;
  const source = hostsOption ? "--hosts" : env ? "FWLAB_HOSTS" : "x-fwlab.hosts";
  const dup = hosts.find((h, i) => hosts.indexOf(h) !== i);
  if (dup) throw new InputError(`${source}: host ${JSON.stringify(dup)} is listed twice`);
  for (const n of spec.nodes) {
    if (n.host !== undefined && !hosts.includes(n.host))
      throw new InputError(
        `node ${n.name} is placed on host ${JSON.stringify(n.host)} (x-fwlab.host), which ${source} does not list (${hosts.join(", ")})${hint(n.host, hosts)}`,
      );
  }
  const firewallHost = hosts[1] ?? hosts[0]!;
  const others = hosts.length > 1 ? hosts.filter((h) => h !== firewallHost) : hosts;
  const networkHost = new Map(spec.networks.map((net, i) => [net.name, others[i % others.length]!]));
  const nodes = spec.nodes.map((n) => ({
    ...n,
    host:
      n.host ??
      (n.firewall || n.role === "firewall" ? firewallHost : networkHost.get(n.interfaces[0]!.network)!),
  }));
  return { ...spec, hosts: [...hosts], nodes, placed: true };
}

/** Which hosts each network's nodes run on: a network on more than one becomes an overlay. */
export function networkHosts(spec: LabSpec): Map<string, string[]> {
  const out = new Map<string, string[]>(spec.networks.map((n) => [n.name, []]));
  for (const node of spec.nodes) {
    for (const itf of node.interfaces) {
      const list = out.get(itf.network)!;
      const host = node.host ?? "";
      if (!list.includes(host)) list.push(host);
    }
  }
  return out;
}

/** Whether a placed lab spans several hosts (its cross-host networks are overlays). */
export const isMultiHost = (spec: LabSpec): boolean => (spec.hosts?.length ?? 0) > 0;

/** `FWLAB_HOSTS=a,b,c`: the default of `--hosts` (as FWLAB_NAME is of `--name`). */
export function envHosts(env: NodeJS.ProcessEnv = process.env): string[] | undefined {
  const list = env.FWLAB_HOSTS?.split(",")
    .map((h) => h.trim())
    .filter(Boolean);
  return list?.length ? list : undefined;
}
