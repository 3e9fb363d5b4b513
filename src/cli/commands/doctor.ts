import { readFile, statfs } from "node:fs/promises";
import type { Command } from "commander";
import { imageStates } from "../../images/build-images.ts";
import { listLabs } from "../../lab/find-lab.ts";
import { DockerRuntime } from "../../runtime/docker-runtime.ts";
import { listLabBridgeRules } from "../../runtime/host-firewall.ts";
import { roleImage } from "../../topology/roles.ts";

type Level = "ok" | "warn" | "fail";
interface Check {
  readonly level: Level;
  readonly what: string;
  readonly detail: string;
}

/** `fwlab doctor`: one line per thing fwlab depends on, with what to do when it is not right. */
export function doctorCommand(program: Command): void {
  program
    .command("doctor")
    .description("check the engine, images, iptables backends, kernel settings and disk")
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

  add(
    process.getuid?.() === 0 ? "ok" : "warn",
    "user",
    process.getuid?.() === 0 ? "root" : "not root: building images and host iptables rules need root",
  );

  let runtime: DockerRuntime | undefined;
  try {
    runtime = await DockerRuntime.connect();
    const v = await runtime.version();
    add("ok", "engine", `Docker ${v.version} (API ${v.apiVersion}), kernel ${v.kernel}`);
  } catch (err) {
    add("fail", "engine", `${(err as Error).message}`);
  }

  if (runtime) {
    const states = await imageStates(runtime);
    const stale = states.filter((s) => !s.upToDate).map((s) => s.ref);
    add(
      stale.length ? "warn" : "ok",
      "images",
      stale.length
        ? `missing or stale: ${stale.join(", ")}; run \`fwlab images\``
        : `${states.length} images up to date`,
    );

    const fw = states.find((s) => s.ref === roleImage("firewall"));
    if (fw && (await runtime.images.imageId(fw.ref))) {
      for (const backend of ["iptables-nft", "iptables-legacy"]) {
        const r = await runtime.runOnce(fw.ref, [backend, "-L", "-n"], { capAdd: ["NET_ADMIN"] });
        add(
          r.exitCode === 0 ? "ok" : "fail",
          backend,
          r.exitCode === 0 ? "works in a node's namespace" : `fails: ${r.output.trim().split("\n")[0]}`,
        );
      }
    } else {
      add("warn", "iptables", "cannot check the backends without the firewall image");
    }
    const info = await runtime.info();
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
    const labs = await listLabs(runtime);
    add(
      "ok",
      "labs",
      labs.size ? [...labs].map(([l, cs]) => `${l} (${cs.length} nodes)`).join(", ") : "none running",
    );
  }

  const logAll = await sysctl("net/netfilter/nf_log_all_netns");
  add(
    logAll === "1" ? "ok" : "warn",
    "nf_log_all_netns",
    logAll === "1"
      ? "1: LOG lines from lab nodes reach the kernel log"
      : `${logAll ?? "absent"}: LOG target lines from lab nodes are dropped; run \`sysctl -w net.netfilter.nf_log_all_netns=1\` as root (NFLOG works either way)`,
  );
  const brnf = await sysctl("net/bridge/bridge-nf-call-iptables");
  const hostRules = await listLabBridgeRules().catch(() => []);
  add(
    "ok",
    "bridge netfilter",
    brnf === "1"
      ? `on: lab frames pass the host's FORWARD chain; fwlab accepts them per lab bridge in DOCKER-USER (${hostRules.length} rules now)`
      : `${brnf ?? "absent"}: lab frames do not pass the host's iptables`,
  );
  return checks;
}

async function sysctl(path: string): Promise<string | undefined> {
  return (await readFile(`/proc/sys/${path}`, "utf8").catch(() => undefined))?.trim();
}
