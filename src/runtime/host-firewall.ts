import { FwlabError } from "../errors.ts";
import type { HostShell } from "./host-shell.ts";

/**
 * The engine host's own firewall, the one outside world besides the engine that a lab touches
 * (changed through its host helper: HostShell).
 *
 * Docker sets net.bridge.bridge-nf-call-iptables=1, so frames bridged inside a lab network
 * also pass the host's FORWARD chain, where Docker's isolation rules for internal networks
 * drop every packet whose source or destination is outside that network's subnet: exactly
 * the routed lab traffic (client 10.0.1.10 -> web 10.0.2.80 crossing the lan bridge). Per lab
 * bridge, DOCKER-USER accepts frames that enter and leave the same bridge and drops anything
 * else that comes from it: nothing between bridges or to the outside is opened. Each rule
 * carries the comment "fwlab:<lab>" so `down` (or the next `up`) finds and removes it, even
 * after a crash.
 *
 * And the host itself never answers a lab, whatever the sysctls of its bridges say (a later
 * ip_forward toggle resets them): fwlab's own nft tables (HOST_TABLES) drop everything that
 * comes up from a lab bridge to the host (IPv4, IPv6 and ARP: no ARP reply for a host address)
 * and anything the host would send into one.
 *
 * Bridged lab frames would also be tracked by the host's own conntrack (bridge-nf-call-iptables
 * again): a lab's burst of flows would fill the host's table, which nf_conntrack_max bounds for
 * every namespace, and the host would drop other labs' packets (and its own) for want of an
 * entry. They are NOTRACK in the host: only the lab's own firewalls track them.
 */
const CHAIN = "DOCKER-USER";

export const HOST_TABLE = "fwlab_host";
const HOST_TABLES = `table inet ${HOST_TABLE} {}
delete table inet ${HOST_TABLE}
table inet ${HOST_TABLE} {
  chain prerouting { type filter hook prerouting priority -300; policy accept; iifname "fwb-*" notrack comment "the host's conntrack table never holds a lab's flows"; }
  chain input { type filter hook input priority -300; policy accept; iifname "fwb-*" drop comment "nothing from a lab bridge reaches the host"; }
  chain output { type filter hook output priority -300; policy accept; oifname "fwb-*" drop comment "the host sends nothing into a lab"; }
}
table arp ${HOST_TABLE} {}
delete table arp ${HOST_TABLE}
table arp ${HOST_TABLE} {
  chain input { type filter hook input priority -300; policy accept; iifname "fwb-*" drop; }
  chain output { type filter hook output priority -300; policy accept; oifname "fwb-*" drop; }
}
`;

export async function allowLabBridges(
  host: HostShell,
  lab: string,
  bridges: readonly string[],
): Promise<void> {
  if (bridges.length === 0) return;
  const [, chain, blocked] = await Promise.all([
    nft(host, HOST_TABLES),
    dockerChain(host),
    framesBlocked(host),
  ]);
  if (blocked) throw new FwlabError(blocked);
  const iptables = chain?.iptables;
  if (!iptables) return; // no DOCKER-USER chain: nothing drops lab frames
  // One iptables-restore for all of them: every iptables process takes the xtables lock.
  await restore(
    host,
    iptables,
    bridges.flatMap((br) => [
      `-I ${CHAIN} 1 -i ${br} -o ${br} -m comment --comment fwlab:${lab} -j ACCEPT`,
      `-I ${CHAIN} 2 -i ${br} -m comment --comment fwlab:${lab} -j DROP`,
    ]),
  );
}

/**
 * Why the host's FORWARD chain would drop every lab frame, if it would. With bridge netfilter
 * on, each frame a lab bridge forwards passes that chain, and Docker's jump to DOCKER-USER is
 * where fwlab accepts them. A host whose filter table was flushed (`iptables -F`, a firewall
 * manager's reload) keeps Docker's DROP policy without the jump: every probe of every lab would
 * time out, as if the lab's own firewall dropped it. Said at `up`, with the way out.
 */
export async function framesBlocked(host: HostShell): Promise<string | undefined> {
  if ((await host.read("/proc/sys/net/bridge/bridge-nf-call-iptables"))?.trim() !== "1") return undefined;
  const r = await host.run(["iptables-nft", "-w", "5", "-S", "FORWARD"]);
  if (r.exitCode !== 0) return undefined;
  const rules = r.stdout.split("\n");
  if (!rules.includes("-P FORWARD DROP") || rules.some((l) => /^-A FORWARD .*-j DOCKER-USER\b/.test(l)))
    return undefined;
  return "the host's FORWARD chain would drop every lab frame: its policy is DROP and it no longer jumps to DOCKER-USER (the host's iptables filter table was flushed: iptables -F, or a firewall manager's reload); restart the Docker engine, which puts its chains back, then start the lab again";
}

/**
 * Removes fwlab's host tables once no lab bridge is left on the host. The look and the removal
 * are one step under the host lock that `allowLabBridges` takes too: a lab coming up meanwhile
 * (its bridges made, its tables about to be put in) is never left without them.
 */
export async function removeHostIsolation(host: HostShell): Promise<void> {
  await nft(
    host,
    `table inet ${HOST_TABLE} {}\ndelete table inet ${HOST_TABLE}\ntable arp ${HOST_TABLE} {}\ndelete table arp ${HOST_TABLE}\n`,
    "ip -o link show type bridge | grep -q ' alias fwlab:' ||",
  );
}

/** Serialises changes of fwlab's host tables among every fwlab using this host's helper. */
const LOCK = "/run/fwlab-host-tables.lock";

async function nft(host: HostShell, script: string, unless = ""): Promise<void> {
  const r = await host.run(["flock", LOCK, "sh", "-c", `${unless} nft -f -`], { stdin: script });
  if (r.exitCode !== 0) throw new FwlabError(`nft on the engine's host failed: ${r.stderr.trim()}`);
}

/** Removes the rules of one lab, or of every lab. Idempotent. */
export async function removeLabBridgeRules(host: HostShell, lab: string | { all: true }): Promise<number> {
  const chain = await dockerChain(host);
  if (!chain) return 0;
  const { iptables } = chain;
  const mine = chain.rules.filter(
    (l) =>
      l.startsWith("-A ") &&
      (typeof lab === "string"
        ? l.includes(`"fwlab:${lab}"`) || l.includes(` fwlab:${lab} `)
        : l.includes("fwlab:")),
  );
  if (mine.length === 0) return 0;
  // One batch; if a parallel `down` removed one meanwhile (the batch fails), one at a time.
  const deletes = mine.map((rule) => rule.replace(/^-A /, "-D "));
  await restore(host, iptables, deletes).catch(async () => {
    for (const d of deletes) await host.run([iptables, "-w", "5", ...splitRule(d)]);
  });
  return mine.length;
}

/** fwlab's rules in the host firewall, as `iptables -S` prints them. */
export async function listLabBridgeRules(host: HostShell): Promise<string[]> {
  return ((await dockerChain(host))?.rules ?? []).filter((l) => l.includes("fwlab:"));
}

/**
 * The iptables that holds the engine's DOCKER-USER chain, and the chain's rules as `-S` prints
 * them: iptables-nft on most hosts now, iptables-legacy where the engine uses that (the helper's
 * image has both). Undefined when neither has it (an engine run with iptables off): nothing
 * drops lab frames then. The listing is the look: one iptables where there were two, which a
 * `down` waited for one after the other.
 */
async function dockerChain(host: HostShell): Promise<{ iptables: string; rules: string[] } | undefined> {
  const nft = await host.run(["iptables-nft", "-w", "5", "-S", CHAIN]);
  if (nft.exitCode === 0) return { iptables: "iptables-nft", rules: nft.stdout.split("\n") };
  // Only where legacy tables exist: listing them would make them, on a host that has none.
  if (!(await host.read("/proc/net/ip_tables_names"))?.trim()) return undefined;
  const legacy = await host.run(["iptables-legacy", "-w", "5", "-S", CHAIN]);
  if (legacy.exitCode === 0) return { iptables: "iptables-legacy", rules: legacy.stdout.split("\n") };
  return undefined;
}

/** Applies rules to the host's filter table in one transaction, leaving every other rule as it is. */
async function restore(host: HostShell, iptables: string, rules: readonly string[]): Promise<void> {
  const r = await host.run([`${iptables}-restore`, "--noflush", "-w", "5"], {
    stdin: `*filter\n${rules.join("\n")}\nCOMMIT\n`,
  });
  if (r.exitCode !== 0)
    throw new FwlabError(`${iptables}-restore on the engine's host failed: ${r.stderr.trim()}`);
}

/** iptables -S quotes comments with double quotes; split the rule back into argv. */
function splitRule(rule: string): string[] {
  return [...rule.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]!);
}
