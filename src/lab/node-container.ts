import type { ContainerCreate } from "../runtime/container-runtime.ts";
import { LABEL } from "../runtime/labels.ts";
import { type LabSpec, type NodeSpec, primaryAddress, primaryAddress6 } from "../topology/lab-spec.ts";
import { macFor } from "../topology/mac-for.ts";
import { formatAddresses } from "./find-lab.ts";
import { containerName } from "./lab-node.ts";

/**
 * What Docker is asked to create for one node: the x-fwlab keys become the init's environment.
 * `overlays` maps the lab's cross-host networks to their Docker overlays: the node joins those
 * through Docker (its init renames the interfaces Docker makes), the others through fwlab's veths.
 */
export function nodeContainer(
  lab: LabSpec,
  node: NodeSpec,
  readyTimeoutS: number,
  overlays: ReadonlyMap<string, string> = new Map(),
): ContainerCreate {
  const viaDocker = node.interfaces.filter((i) => overlays.has(i.network));
  const neighbours = neighbours6(lab, node, overlays);
  return {
    name: containerName(lab.name, node.name),
    image: node.image,
    hostname: node.hostname,
    command: [...node.command],
    env: {
      ...node.environment,
      FWLAB_LAB: lab.name,
      FWLAB_NODE: node.name,
      // "lan=10.0.1.1/24 ...": the init waits for each link fwlab adds, then addresses it.
      // A dual-stack link: "lan=10.0.1.1/24,2001:db8:1::1/64".
      FWLAB_IFACES: node.interfaces
        .map(
          (i) =>
            `${i.ifname}=${i.address}/${prefixOf(lab, i.network)}` +
            (i.address6 ? `,${i.address6}/${prefix6Of(lab, i.network)}` : ""),
        )
        .join(" "),
      FWLAB_GATEWAY: node.gateway ?? "",
      FWLAB_GATEWAY6: node.gateway6 ?? "",
      FWLAB_ROUTES: node.routes.map((r) => `${r.to}=${r.via}`).join(" "),
      FWLAB_DNS: node.dns.join(" "),
      // "web=10.0.2.80 web.lab=10.0.2.80 ...": the init writes them into /etc/hosts.
      FWLAB_HOSTS: hostsEntries(lab)
        .map((h) => h.replace(":", "="))
        .join(" "),
      FWLAB_DOMAIN: lab.domain,
      FWLAB_READY_TIMEOUT: String(readyTimeoutS),
      // "02:42:0a:00:01:01=lan ...": links Docker made (ethN, found by their MAC), and their names.
      ...(viaDocker.length > 0
        ? { FWLAB_RENAME: viaDocker.map((i) => `${macFor(i.address)}=${i.ifname}`).join(" ") }
        : {}),
      // "lan,2001:db8:1::10,02:42:0a:00:01:0a ...": IPv6 neighbours across an overlay, fixed.
      ...(neighbours.length > 0 ? { FWLAB_NEIGH6: neighbours.join(" ") } : {}),
    },
    labels: {
      ...node.labels,
      [LABEL.lab]: lab.name,
      [LABEL.node]: node.name,
      [LABEL.role]: node.role,
      [LABEL.file]: lab.file,
      [LABEL.firewall]: String(node.firewall),
      [LABEL.backend]: node.backend,
      [LABEL.readyTimeout]: String(readyTimeoutS),
      [LABEL.addresses]: formatAddresses(
        Object.fromEntries(node.interfaces.map((i) => [i.network, i.address])),
      ),
      ...(speaksIpv6(node)
        ? {
            [LABEL.addresses6]: formatAddresses(
              Object.fromEntries(
                node.interfaces.flatMap((i) => (i.address6 ? [[i.network, i.address6]] : [])),
              ),
            ),
          }
        : {}),
      ...(node.interfaces.some((i) => i.ifname !== i.network)
        ? {
            [LABEL.ifnames]: formatAddresses(
              Object.fromEntries(
                node.interfaces.filter((i) => i.ifname !== i.network).map((i) => [i.network, i.ifname]),
              ),
            ),
          }
        : {}),
      ...(lab.hosts && node.host ? { [LABEL.host]: node.host, [LABEL.hosts]: lab.hosts.join(",") } : {}),
    },
    dockerNetworks: viaDocker.map((i) => ({ name: overlays.get(i.network)!, address: i.address })),
    capAdd: [...node.capAdd],
    privileged: node.privileged,
    hostNamespaces: { ...node.hostNamespaces },
    binds: [...node.binds],
    // No IPv6 on lab links unless the lab gives the node an IPv6 address (no router
    // solicitations or MLD in the evidence); with one, the node's addresses are the lab's only:
    // no router advertisements taken, no addresses made from them, no DAD delaying the start.
    sysctls: {
      ...(speaksIpv6(node)
        ? Object.fromEntries(
            ["all", "default"].flatMap((c) => [
              [`net.ipv6.conf.${c}.disable_ipv6`, "0"],
              [`net.ipv6.conf.${c}.accept_ra`, "0"],
              [`net.ipv6.conf.${c}.autoconf`, "0"],
              [`net.ipv6.conf.${c}.accept_dad`, "0"],
            ]),
          )
        : { "net.ipv6.conf.all.disable_ipv6": "1", "net.ipv6.conf.default.disable_ipv6": "1" }),
      // ICMP errors are sent at once, every time: a kernel sends a host at most a burst of six
      // and then one a second, so a REJECT (or a closed UDP port) answered a step and was
      // silent for the next steps of the same second: verdicts flipped with the steps' pace.
      // A lab file's or scenario's own setting wins (a lesson on the limit itself).
      "net.ipv4.icmp_ratelimit": "0",
      ...(speaksIpv6(node) ? { "net.ipv6.icmp.ratelimit": "0" } : {}),
      // A firewall's conntrack events carry the kernel's own time (a step's evidence is judged
      // at the step's end, however late a busy machine delivers it).
      ...(node.firewall ? { "net.netfilter.nf_conntrack_timestamp": "1" } : {}),
      ...node.sysctls,
    },
  };
}

const prefixOf = (lab: LabSpec, network: string): string =>
  lab.networks.find((n) => n.name === network)!.subnet.split("/")[1]!;
const prefix6Of = (lab: LabSpec, network: string): string =>
  lab.networks.find((n) => n.name === network)!.subnet6!.split("/")[1]!;

const speaksIpv6 = (n: NodeSpec): boolean => n.interfaces.some((i) => i.address6);

/**
 * Every node's names, written into every node's /etc/hosts (and so served by the lab's DNS
 * server): `web` and `web.lab`, and for nodes on several networks `fw-dmz` and `fw-dmz.lab`.
 */
export function hostsEntries(lab: LabSpec): string[] {
  const out: string[] = [];
  const names = (name: string, addr: string) => out.push(`${name}:${addr}`, `${name}.${lab.domain}:${addr}`);
  for (const n of lab.nodes) {
    names(n.name, primaryAddress(n));
    // AAAA too: a dual-stack node's name resolves to both (the DNS server reads /etc/hosts).
    const six = primaryAddress6(n);
    if (six) names(n.name, six);
    if (n.interfaces.length > 1) {
      for (const i of n.interfaces) {
        names(`${n.name}-${i.network}`, i.address);
        if (i.address6) names(`${n.name}-${i.network}`, i.address6);
      }
    }
  }
  return out;
}

/**
 * A Docker overlay forwards frames to the MACs of the endpoints it knows (every node's, 02:42 +
 * its IPv4 address) and answers ARP itself, but does not flood IPv6 neighbour solicitations
 * (multicast) between hosts. So a node on an overlay is given its IPv6 neighbours there
 * up front, as permanent entries: IPv6 crosses hosts, and neighbour discovery is not needed
 * on those links (a ruleset that drops it does not break them, unlike on one host).
 */
function neighbours6(lab: LabSpec, node: NodeSpec, overlays: ReadonlyMap<string, string>): string[] {
  return node.interfaces
    .filter((i) => i.address6 && overlays.has(i.network))
    .flatMap((mine) =>
      lab.nodes
        .filter((n) => n.name !== node.name)
        .flatMap((n) => n.interfaces.filter((i) => i.network === mine.network && i.address6))
        .map((peer) => `${mine.ifname},${peer.address6},${macFor(peer.address)}`),
    );
}
