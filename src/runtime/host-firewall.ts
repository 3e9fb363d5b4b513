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
 * the routed lab traffic (client 10.0.1.10 -> web 10.0.2.80 crossing the lan bridge). One
 * rule per lab bridge in DOCKER-USER accepts frames that enter and leave the same bridge;
 * nothing between bridges or to the outside is opened. Each rule carries the comment
 * "fwlab:<lab>" so `down` (or the next `up`) finds and removes it, even after a crash.
 */
const CHAIN = "DOCKER-USER";

export async function allowLabBridges(lab: string, bridges: readonly string[]): Promise<void> {
  if (bridges.length === 0 || !(await chainExists())) return; // no iptables: nothing drops lab frames
  // One iptables-restore for all of them: every iptables process takes the xtables lock.
  await restore(
    bridges.map((br) => `-I ${CHAIN} -i ${br} -o ${br} -m comment --comment fwlab:${lab} -j ACCEPT`),
  );
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
