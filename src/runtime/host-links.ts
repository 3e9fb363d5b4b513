import { execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { promisify } from "node:util";
import { FwlabError } from "../errors.ts";

const run = promisify(execFile);

/**
 * Lab networks are plain Linux bridges that fwlab wires itself, the way containerlab wires its
 * links: every node starts with Docker's `none` network, and a veth pair per interface joins
 * its namespace to the lab bridge. Compared with Docker networks this is
 *  - isolated by construction: a lab bridge has no address on the host and forwarding is off
 *    on it, so the host neither routes into nor out of a lab;
 *  - fast: no libnetwork endpoints and no embedded-DNS rules per container; a node's veths
 *    vanish with its namespace when the container is killed (down takes a fraction of the time).
 * Bridges carry the alias `fwlab:<lab>:<network>:<subnet>`: that is how `down`, the next `up`
 * and subnet checks find them, even after a crash.
 */
export interface LabBridge {
  readonly lab: string;
  readonly network: string;
  readonly subnet: string;
  readonly device: string;
}

export interface VethLink {
  /** PID of the node's init: its network namespace gets the peer. */
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
export async function createBridges(bridges: readonly LabBridge[]): Promise<void> {
  await ipBatch(
    bridges.flatMap((b) => [
      `link add name ${b.device} type bridge`,
      `link set dev ${b.device} alias fwlab:${b.lab}:${b.network}:${b.subnet}`,
      `link set dev ${b.device} up`,
    ]),
  );
  // No IPv4 forwarding from a lab bridge (a node cannot use the host as a router) and no IPv6
  // at all (no stray router solicitations on the lab's wires).
  await Promise.all(
    bridges.flatMap((b) => [
      writeFile(`/proc/sys/net/ipv4/conf/${b.device}/forwarding`, "0"),
      writeFile(`/proc/sys/net/ipv6/conf/${b.device}/disable_ipv6`, "1").catch(() => {}),
    ]),
  );
}

/** Joins nodes to bridges: one veth pair per link, the node's end named and addressed by MAC. */
export async function addLinks(links: readonly VethLink[]): Promise<void> {
  await ipBatch(
    links.flatMap((l) => [
      `link add name ${l.hostIf} type veth peer name ${l.nodeIf} address ${l.mac} netns ${l.pid}`,
      `link set dev ${l.hostIf} master ${l.bridge} up`,
    ]),
  );
}

/** The lab bridges on this host, of one lab or of all. */
export async function listBridges(lab?: string): Promise<LabBridge[]> {
  const { stdout } = await run("ip", ["-o", "link", "show", "type", "bridge"]).catch(() => ({ stdout: "" }));
  const out: LabBridge[] = [];
  for (const line of stdout.split("\n")) {
    const device = /^\d+: ([^:@\s]+)/.exec(line)?.[1];
    const alias = / alias (\S+)/.exec(line)?.[1];
    const m = alias ? ALIAS.exec(alias) : null;
    if (!device || !m) continue;
    if (lab === undefined || m[1] === lab) out.push({ lab: m[1]!, network: m[2]!, subnet: m[3]!, device });
  }
  return out;
}

/** Deletes bridges (their remaining veths go with them). Idempotent. */
export async function removeBridges(bridges: readonly LabBridge[]): Promise<void> {
  if (bridges.length === 0) return;
  // -force: go on past a bridge that a parallel `down` removed first.
  await ipBatch(
    bridges.map((b) => `link del dev ${b.device}`),
    true,
  );
}

/** Docker-like MAC from the address (02:42 + the IPv4 bytes), so a MAC in a log names its node. */
export function macFor(address: string): string {
  return `02:42:${address
    .split(".")
    .map((o) => Number(o).toString(16).padStart(2, "0"))
    .join(":")}`;
}

function shortHash(s: string): string {
  return createHash("sha256").update(s).digest("hex").slice(0, 10);
}

function ipBatch(commands: readonly string[], force = false): Promise<void> {
  if (commands.length === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const child = spawn("ip", [...(force ? ["-force"] : []), "-batch", "-"], {
      stdio: ["pipe", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    child.on("error", (err) =>
      reject(new FwlabError(`the host has no usable \`ip\` command (${err.message}); install iproute2`)),
    );
    child.on("close", (code) => {
      if (code === 0 || force) resolve();
      else reject(new FwlabError(`host \`ip -batch\` failed: ${stderr.trim()} (run as root?)`));
    });
    child.stdin.end(`${commands.join("\n")}\n`);
  });
}
