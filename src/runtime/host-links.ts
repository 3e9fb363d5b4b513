import { FwlabError } from "../errors.ts";
import { lazyBuiltin } from "../util/lazy-builtin.ts";
import type { HostShell } from "./host-shell.ts";

const crypto = lazyBuiltin<typeof import("node:crypto")>("node:crypto");

/**
 * Lab networks are plain Linux bridges that fwlab wires itself, the way containerlab wires its
 * links: every node starts with Docker's `none` network, and a veth pair per interface joins
 * its namespace to the lab bridge. Compared with Docker networks this is
 *  - isolated by construction: a lab bridge has no address on the host and forwarding is off
 *    on it, so the host neither routes into nor out of a lab;
 *  - fast: no libnetwork endpoints and no embedded-DNS rules per container; a node's veths
 *    vanish with its namespace when the container is killed (down takes a fraction of the time).
 * Bridges carry the alias `fwlab:<lab>:<network>:<subnet>`: that is how `down`, the next `up`
 * and subnet checks find them, even after a crash. All of it happens on the engine's host,
 * through its host helper (HostShell).
 */
export interface LabBridge {
  readonly lab: string;
  readonly network: string;
  readonly subnet: string;
  readonly device: string;
}

export interface VethLink {
  /** PID of the node's init on the engine's host: its network namespace gets the peer. */
  readonly pid: number;
  readonly bridge: string;
  /** The host end's name (unique on the host). */
  readonly hostIf: string;
  /** The interface name inside the node. */
  readonly nodeIf: string;
  readonly mac: string;
}

const ALIAS = /^fwlab:([^:]+):([^:]+):(\S+)$/;

export const bridgeDevice = (lab: string, network: string): string => `fwb-${shortHash(`${lab}/${network}`)}`;
export const vethDevice = (lab: string, node: string, network: string): string =>
  `fwv-${shortHash(`${lab}/${node}/${network}`)}`;

/** Creates the lab's bridges, up, with no address and no forwarding on the host side. */
export async function createBridges(host: HostShell, bridges: readonly LabBridge[]): Promise<void> {
  await ipBatch(
    host,
    bridges.flatMap((b) => [
      `link add name ${b.device} type bridge`,
      `link set dev ${b.device} alias fwlab:${b.lab}:${b.network}:${b.subnet}`,
      `link set dev ${b.device} addrgenmode none`,
      `link set dev ${b.device} up`,
    ]),
  );
  // No IPv4 forwarding from a lab bridge (a node cannot use the host as a router), no ARP answer
  // for any address (arp_ignore 8: the host's own ones included), and no IPv6 at all (no stray
  // router solicitations on the lab's wires). fwlab's host tables drop all of it anyway (see
  // host-firewall.ts): sysctls alone would not hold (an ip_forward toggle resets forwarding).
  await Promise.all(
    bridges.flatMap((b) => [
      host.write(`/proc/sys/net/ipv4/conf/${b.device}/forwarding`, "0"),
      host.write(`/proc/sys/net/ipv4/conf/${b.device}/arp_ignore`, "8"),
      noIpv6(host, b.device),
    ]),
  );
}

/** Joins nodes to bridges: one veth pair per link, the node's end named and addressed by MAC. */
export async function addLinks(host: HostShell, links: readonly VethLink[]): Promise<void> {
  // The host end gets no IPv6 either (the node's end is made in a namespace that has none):
  // up with IPv6 it takes a link-local address and sends DAD, MLD and router solicitations into
  // the lab. addrgenmode none keeps it silent from the moment it is up; disable_ipv6 follows.
  await ipBatch(
    host,
    links.flatMap((l) => [
      `link add name ${l.hostIf} type veth peer name ${l.nodeIf} address ${l.mac} netns ${l.pid}`,
      `link set dev ${l.hostIf} addrgenmode none`,
      `link set dev ${l.hostIf} master ${l.bridge} up`,
    ]),
  );
  await Promise.all(links.map((l) => noIpv6(host, l.hostIf)));
}

/** IPv6 off on a device, where the host has IPv6 at all (no /proc/sys/net/ipv6 otherwise). */
async function noIpv6(host: HostShell, dev: string): Promise<void> {
  const path = `/proc/sys/net/ipv6/conf/${dev}/disable_ipv6`;
  if ((await host.read(path)) !== undefined) await host.write(path, "1");
}

/**
 * addLinks for nodes that start one after another: links asked for while an `ip` process runs
 * go together into the next one, so a node never waits behind more than one batch, and a lab of
 * 50 nodes spawns a handful of processes instead of 50 (each spawn costs ~10 ms of a busy CPU
 * while the node's init polls for its links).
 */
export function linkQueue(host: HostShell): (links: readonly VethLink[]) => Promise<void> {
  let pending: { links: readonly VethLink[]; done: (err?: unknown) => void }[] = [];
  let running = false;
  const drain = async () => {
    running = true;
    while (pending.length > 0) {
      const batch = pending;
      pending = [];
      const err = await addLinks(
        host,
        batch.flatMap((b) => b.links),
      ).then(
        () => undefined,
        (e: unknown) => e,
      );
      for (const b of batch) b.done(err);
    }
    running = false;
  };
  return (links) =>
    new Promise((resolve, reject) => {
      pending.push({ links, done: (err) => (err ? reject(err) : resolve()) });
      if (!running) void drain();
    });
}

/** The lab bridges on the engine's host, of one lab or of all. */
export async function listBridges(host: HostShell, lab?: string): Promise<LabBridge[]> {
  return labBridgesIn((await ip(host, ["-o", "link", "show", "type", "bridge"])).stdout, lab);
}

/** The lab bridges among the lines of `ip -o link show`: fwlab's alias on a bridge names its lab. */
function labBridgesIn(links: string, lab?: string): LabBridge[] {
  const out: LabBridge[] = [];
  for (const line of links.split("\n")) {
    const device = /^\d+: ([^:@\s]+)/.exec(line)?.[1];
    const alias = / alias (\S+)/.exec(line)?.[1];
    const m = alias ? ALIAS.exec(alias) : null;
    if (!device || !m) continue;
    if (lab === undefined || m[1] === lab) out.push({ lab: m[1]!, network: m[2]!, subnet: m[3]!, device });
  }
  return out;
}

/**
 * Deletes the bridges of one lab (or of all) and the host ends of the veths on them, found in
 * one listing of the host's links; returns the bridges. Idempotent. The veths would vanish with
 * their nodes' namespaces, but the kernel tears namespaces down later, in the background: a lab
 * started again at once (same names) would find them still there. One listing, not one for the
 * bridges and one for their ports: `down` runs while the kernel tears the nodes' namespaces
 * down, when every `ip` waits its turn for the kernel's lock.
 */
export async function removeBridges(host: HostShell, lab?: string): Promise<LabBridge[]> {
  const { stdout } = await ip(host, ["-o", "link", "show"]);
  const bridges = labBridgesIn(stdout, lab);
  if (bridges.length === 0) return bridges;
  const devices = new Set(bridges.map((b) => b.device));
  const veths = stdout
    .split("\n")
    .filter((l) => devices.has(/ master (\S+)/.exec(l)?.[1] ?? ""))
    .map((l) => /^\d+: ([^:@\s]+)/.exec(l)?.[1])
    .filter((d): d is string => !!d);
  // -force: go on past a link or bridge that a parallel `down` removed first.
  await ipBatch(
    host,
    [...veths.map((v) => `link del dev ${v}`), ...bridges.map((b) => `link del dev ${b.device}`)],
    true,
  );
  return bridges;
}

function shortHash(s: string): string {
  return crypto().createHash("sha256").update(s).digest("hex").slice(0, 10);
}

async function ip(host: HostShell, args: string[]): Promise<{ stdout: string }> {
  const r = await host.run(["ip", ...args]);
  if (r.exitCode !== 0)
    throw new FwlabError(`ip ${args.join(" ")} on the engine's host failed: ${r.stderr.trim()}`);
  return r;
}

async function ipBatch(host: HostShell, commands: readonly string[], force = false): Promise<void> {
  if (commands.length === 0) return;
  const r = await host.run(["ip", ...(force ? ["-force"] : []), "-batch", "-"], {
    stdin: `${commands.join("\n")}\n`,
  });
  if (r.exitCode !== 0 && !force)
    throw new FwlabError(`\`ip -batch\` on the engine's host failed: ${r.stderr.trim()}`);
}
