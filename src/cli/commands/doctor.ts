import { statfs } from "node:fs/promises";
import type { Command } from "commander";
import { imageStates } from "../../images/build-images.ts";
import { listLabs } from "../../lab/find-lab.ts";
import type { Engine } from "../../runtime/engine.ts";
import { HELPER_CAPS } from "../../runtime/helper-container.ts";
import { framesBlocked, listLabBridgeRules } from "../../runtime/host-firewall.ts";
import { roleImage } from "../../topology/roles.ts";
import { commandEngine } from "../context.ts";

type Level = "ok" | "warn" | "fail";
interface Check {
  readonly level: Level;
  readonly what: string;
  readonly detail: string;
}

/** Capability numbers (linux/capability.h) of what the helper asks for, to read its CapEff. */
const CAP_BITS: Record<string, number> = { NET_ADMIN: 12, SYS_PTRACE: 19, SYS_ADMIN: 21, SYSLOG: 34 };

/**
 * `fwlab doctor`: one line per thing fwlab depends on, on the engine the command names (-H,
 * --context, the environment), with what to do when it is not right and what it costs.
 */
export function doctorCommand(program: Command): void {
  program
    .command("doctor")
    .description("check the engine, its host helper, images, iptables backends, kernel settings and disk")
    .option("--json", "machine-readable output")
    .action(async (opts: { json?: boolean }) => {
      const checks = await runChecks();
      if (opts.json) console.log(JSON.stringify(checks, null, 2));
      else for (const c of checks) console.log(`${c.level.padEnd(4)} ${c.what.padEnd(18)} ${c.detail}`);
      process.exitCode = checks.some((c) => c.level === "fail") ? 1 : 0;
    });
}

async function runChecks(): Promise<Check[]> {
  const checks: Check[] = [];
  const add = (level: Level, what: string, detail: string) => checks.push({ level, what, detail });

  let engine: Engine;
  try {
    engine = await commandEngine();
  } catch (err) {
    add("fail", "engine", (err as Error).message);
    return checks;
  }
  const { runtime } = engine;
  const [v, info] = await Promise.all([runtime.version(), runtime.info()]);
  add(
    "ok",
    "engine",
    `${engine.name} (${engine.endpoint.host}, chosen by ${engine.endpoint.source}): Docker ${v.version} (API ${v.apiVersion}) on ${info.operatingSystem || v.os}, kernel ${v.kernel}`,
  );
  if (/name=rootless/.test(info.securityOptions.join(" ")))
    add(
      "fail",
      "rootless engine",
      "a rootless engine cannot give the host helper the host's network: labs cannot be wired; use a rootful engine",
    );

  // Only labs across hosts need a swarm (README "Several hosts"): said, never a warning.
  add(
    "ok",
    "swarm",
    info.swarm.state !== "active"
      ? "not in a swarm (needed only for labs across hosts: `fwlab cluster init`)"
      : info.swarm.manager
        ? `a manager of a swarm of ${(await runtime.swarm.nodes()).length} engines, advertising ${info.swarm.nodeAddr}`
        : `a worker of a swarm (managers ${info.swarm.remoteManagers.join(", ")}), advertising ${info.swarm.nodeAddr}`,
  );

  const states = await imageStates(runtime);
  const stale = states.filter((s) => !s.upToDate).map((s) => s.ref);
  add(
    stale.length ? "warn" : "ok",
    "images",
    stale.length
      ? `missing or stale on this engine: ${stale.join(", ")}; run \`fwlab images\` (it builds or streams them to this engine)`
      : `${states.length} images up to date`,
  );

  const fw = roleImage("firewall");
  if (await runtime.images.imageId(fw)) {
    for (const backend of ["iptables-nft", "iptables-legacy"]) {
      const r = await runtime.runOnce(fw, [backend, "-L", "-n"], { capAdd: ["NET_ADMIN"] });
      add(
        r.exitCode === 0 ? "ok" : "fail",
        backend,
        r.exitCode === 0 ? "works in a node's namespace" : `fails: ${r.output.trim().split("\n")[0]}`,
      );
    }
  } else {
    add("warn", "iptables", "cannot check the backends without the firewall image");
  }

  checks.push(...(await helperChecks(engine)));

  // Disk: only where the engine's data root is on this machine (a local socket).
  if (engine.endpoint.host.startsWith("unix://")) {
    const fs = await statfs(info.rootDir).catch(() => undefined);
    if (fs) {
      const freeGb = (fs.bavail * fs.bsize) / 1e9;
      const level: Level = freeGb < 1 ? "fail" : freeGb < 5 ? "warn" : "ok";
      add(
        level,
        "disk",
        `${freeGb.toFixed(1)} GB free under ${info.rootDir}${level === "ok" ? "" : " (images need about 1 GB)"}`,
      );
    }
  }
  const labs = await listLabs(runtime);
  add(
    "ok",
    "labs",
    labs.size ? [...labs].map(([l, cs]) => `${l} (${cs.length} nodes)`).join(", ") : "none running",
  );
  return checks;
}

/** What the host helper needs of the engine's host, checked from inside it. */
async function helperChecks(engine: Engine): Promise<Check[]> {
  const checks: Check[] = [];
  const add = (level: Level, what: string, detail: string) => checks.push({ level, what, detail });
  const { host } = engine;
  try {
    // It was made with the host's network and PID namespaces (an engine that refuses them fails
    // the start, below); in the host's PID namespace, PID 1 is the host's init, not its daemon.
    const pid1 = (await host.read("/proc/1/cmdline")) ?? "";
    const init = (await host.read("/proc/1/comm"))?.trim();
    const shared = init !== undefined && !pid1.includes("hostd.js");
    add(
      shared ? "ok" : "fail",
      "host helper",
      shared
        ? `runs in the host's network and PID namespaces (the host's PID 1 is ${init})`
        : "does not share the host's PID namespace: labs cannot be wired (Docker Desktop's Enhanced Container Isolation refuses host namespaces)",
    );
  } catch (err) {
    add(
      "fail",
      "host helper",
      `${(err as Error).message.split("\n")[0]}; without it labs cannot be wired (bridges, veths) and LOG lines cannot be read. ` +
        "An engine that refuses host namespaces or these capabilities (Docker Desktop with Enhanced Container Isolation, a rootless engine) cannot run labs",
    );
    return checks;
  }
  const status = (await host.read("/proc/self/status")) ?? "";
  const capEff = BigInt(`0x${/CapEff:\s*([0-9a-f]+)/.exec(status)?.[1] ?? "0"}`);
  const missing = HELPER_CAPS.filter((c) => !(capEff & (1n << BigInt(CAP_BITS[c]!))));
  add(
    missing.length ? "fail" : "ok",
    "helper caps",
    missing.length
      ? `the engine withheld ${missing.join(", ")}: ${missing.includes("SYS_ADMIN") ? "node sysctls cannot be set; " : ""}${missing.includes("NET_ADMIN") ? "labs cannot be wired; " : ""}${missing.includes("SYSLOG") ? "LOG lines may be unreadable" : ""}`
      : HELPER_CAPS.join(", "),
  );
  // One record (a read must hold a whole one); the ring always has some, so it never waits.
  const kmsg = await host.run([
    "timeout",
    "2",
    "dd",
    "if=/dev/kmsg",
    "of=/dev/null",
    "bs=8192",
    "count=1",
    "status=none",
  ]);
  add(
    kmsg.exitCode === 0 ? "ok" : "warn",
    "/dev/kmsg",
    kmsg.exitCode === 0
      ? "readable: LOG lines can be shown"
      : `not readable (${kmsg.stderr.trim() || `exit ${kmsg.exitCode}`}): LOG target lines cannot be shown; NFLOG works either way`,
  );
  const logAll = (await host.read("/proc/sys/net/netfilter/nf_log_all_netns"))?.trim();
  add(
    logAll === "1" ? "ok" : "warn",
    "nf_log_all_netns",
    logAll === "1"
      ? "1: LOG lines from lab nodes reach the kernel log"
      : logAll === undefined
        ? "not visible from this host's network namespace (not the kernel's first): LOG lines show if it is 1 in the kernel's first one"
        : `${logAll}: LOG lines from lab nodes are dropped until it is 1; fwlab sets it when it follows LOG lines (NFLOG works either way)`,
  );
  const brnf = (await host.read("/proc/sys/net/bridge/bridge-nf-call-iptables"))?.trim();
  const hostRules = await listLabBridgeRules(host).catch(() => []);
  add(
    "ok",
    "bridge netfilter",
    brnf === "1"
      ? `on: lab frames pass the host's FORWARD chain; fwlab accepts them per lab bridge in DOCKER-USER (${hostRules.length} rules now)`
      : `${brnf ?? "absent"}: lab frames do not pass the host's iptables`,
  );
  if (brnf === "1") {
    const blocked = await framesBlocked(host).catch((err: Error) => `cannot be read: ${err.message}`);
    add(
      blocked ? "fail" : "ok",
      "host FORWARD",
      blocked ?? "jumps to DOCKER-USER, where fwlab accepts lab frames per bridge",
    );
  }
  const nft = await host.run(["nft", "list", "tables"]);
  add(
    nft.exitCode === 0 ? "ok" : "fail",
    "host nft",
    nft.exitCode === 0
      ? "the helper can keep the host from answering a lab (nft inet and arp tables)"
      : `nft fails on the host: ${nft.stderr.trim()}; the host would answer ARP on lab bridges`,
  );
  return checks;
}
