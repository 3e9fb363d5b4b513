import { execFile, spawn } from "node:child_process";
import { promisify } from "node:util";
import { FwlabError } from "../errors.ts";

const run = promisify(execFile);

/**
 * The host's own firewall, the one outside world besides the engine that a lab touches.
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
 */
const CHAIN = "DOCKER-USER";

export const HOST_TABLE = "fwlab_host";
const HOST_TABLES = `table inet ${HOST_TABLE} {}
delete table inet ${HOST_TABLE}
table inet ${HOST_TABLE} {
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

export async function allowLabBridges(lab: string, bridges: readonly string[]): Promise<void> {
  if (bridges.length === 0) return;
  await isolateHost();
  if (!(await chainExists())) return; // no iptables: nothing drops lab frames
  // One iptables-restore for all of them: every iptables process takes the xtables lock.
  await restore(
    bridges.flatMap((br) => [
      `-I ${CHAIN} 1 -i ${br} -o ${br} -m comment --comment fwlab:${lab} -j ACCEPT`,
      `-I ${CHAIN} 2 -i ${br} -m comment --comment fwlab:${lab} -j DROP`,
    ]),
  );
}

/** fwlab's host tables (see above), replaced in one transaction: idempotent. */
async function isolateHost(): Promise<void> {
  await nft(["-f", "-"], HOST_TABLES);
}

/** Removes fwlab's host tables (when no lab bridge is left). */
export async function removeHostIsolation(): Promise<void> {
  await nft(
    ["-f", "-"],
    `table inet ${HOST_TABLE} {}\ndelete table inet ${HOST_TABLE}\ntable arp ${HOST_TABLE} {}\ndelete table arp ${HOST_TABLE}\n`,
  );
}

function nft(args: string[], stdin: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("nft", args, { stdio: ["pipe", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    child.on("error", (err) =>
      reject(
        new FwlabError(
          `the host has no usable nft (${err.message}); install nftables (apt-get install nftables)`,
        ),
      ),
    );
    child.on("close", (code) =>
      code === 0 ? resolve() : reject(new FwlabError(`host nft failed: ${stderr.trim()}`)),
    );
    child.stdin.end(stdin);
  });
}

/** Removes the rules of one lab, or of every lab. Idempotent. */
export async function removeLabBridgeRules(lab: string | { all: true }): Promise<number> {
  if (!(await chainExists())) return 0;
  const { stdout } = await iptables(["-S", CHAIN]);
  const mine = stdout
    .split("\n")
    .filter(
      (l) =>
        l.startsWith("-A ") &&
        (typeof lab === "string"
          ? l.includes(`"fwlab:${lab}"`) || l.includes(` fwlab:${lab} `)
          : l.includes("fwlab:")),
    );
  if (mine.length === 0) return 0;
  // One batch; if a parallel `down` removed one meanwhile (the batch fails), one at a time.
  const deletes = mine.map((rule) => rule.replace(/^-A /, "-D "));
  await restore(deletes).catch(async () => {
    for (const d of deletes) await iptables(splitRule(d)).catch(() => {});
  });
  return mine.length;
}

/** fwlab's rules in the host firewall, as `iptables -S` prints them. */
export async function listLabBridgeRules(): Promise<string[]> {
  if (!(await chainExists())) return [];
  const { stdout } = await iptables(["-S", CHAIN]);
  return stdout.split("\n").filter((l) => l.includes("fwlab:"));
}

async function chainExists(): Promise<boolean> {
  try {
    await iptables(["-n", "-L", CHAIN]);
    return true;
  } catch {
    return false;
  }
}

async function iptables(args: string[]): Promise<{ stdout: string }> {
  try {
    return await run("iptables", ["-w", "5", ...args]);
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === "ENOENT") {
      throw new FwlabError(
        "the host has no iptables command; install it (apt-get install iptables) so lab traffic can cross Docker's bridges",
      );
    }
    throw new FwlabError(`host iptables ${args.join(" ")} failed: ${(e.stderr ?? e.message).trim()}`);
  }
}

/** Applies rules to the host's filter table in one transaction, leaving every other rule as it is. */
function restore(rules: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("iptables-restore", ["--noflush", "-w", "5"], { stdio: ["pipe", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    child.on("error", (err) =>
      reject(new FwlabError(`the host has no usable iptables-restore (${err.message}); install iptables`)),
    );
    child.on("close", (code) =>
      code === 0 ? resolve() : reject(new FwlabError(`host iptables-restore failed: ${stderr.trim()}`)),
    );
    child.stdin.end(`*filter\n${rules.join("\n")}\nCOMMIT\n`);
  });
}

/** iptables -S quotes comments with double quotes; split the rule back into argv. */
function splitRule(rule: string): string[] {
  return [...rule.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]!);
}
