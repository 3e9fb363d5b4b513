import Table from "cli-table3";
import type { Command } from "commander";
import { swarmRole } from "../../cluster/check-swarm.ts";
import { type HostStatus, hostStatus } from "../../cluster/cluster-status.ts";
import { listContexts } from "../../cluster/docker-contexts.ts";
import { advertiseAddress, formSwarm, leaveSwarm } from "../../cluster/form-swarm.ts";
import { SIM_PREFIX, simDown, simUp } from "../../cluster/sim.ts";
import { InputError } from "../../errors.ts";
import { connectEngine, type Engine } from "../../runtime/engine.ts";
import { hostChoice } from "../../runtime/engine-endpoint.ts";
import { toStderr } from "../../util/progress.ts";
import { commandEngine } from "../context.ts";

/** The engines a cluster command names (docker contexts or URLs), else the simulated ones, else the command's. */
async function engines(names: readonly string[]): Promise<{ name: string; engine: Engine | Error }[]> {
  const list = names.length > 0 ? names : listContexts(SIM_PREFIX);
  if (list.length === 0) {
    const e = await commandEngine();
    return [{ name: e.name, engine: e }];
  }
  return Promise.all(
    list.map(async (name) => ({
      name,
      engine: await connectEngine(hostChoice(name)).catch((err: Error) => err),
    })),
  );
}

function reachable(hosts: { name: string; engine: Engine | Error }[]): { name: string; engine: Engine }[] {
  const bad = hosts.filter((h) => h.engine instanceof Error);
  if (bad.length > 0) throw bad[0]!.engine;
  return hosts as { name: string; engine: Engine }[];
}

export function clusterCommand(program: Command): void {
  const cluster = program
    .command("cluster")
    .description('the engines a lab can span: Docker Swarm membership (README "Several hosts")');

  cluster
    .command("status")
    .description("each engine: its swarm membership and role, its host helper, the labs it runs")
    .argument(
      "[engines...]",
      "docker contexts or engine URLs (default: the simulated cluster's, else the command's engine)",
    )
    .option("--json", "machine-readable output")
    .action(async (names: string[], opts: { json?: boolean }) => {
      const hosts = await engines(names);
      const status = await Promise.all(hosts.map((h) => hostStatus(h.name, h.engine)));
      if (opts.json) return console.log(JSON.stringify(status, null, 2));
      console.log(statusTable(status));
      const manager = status.find((s) => s.members);
      if (manager?.members)
        console.log(
          `swarm (as ${manager.name} sees it): ${manager.members.map((m) => `${m.addr} ${m.role}${m.leader ? " (leader)" : ""} ${m.state}`).join(", ")}`,
        );
      if (status.some((s) => s.error)) process.exitCode = 1;
    });

  cluster
    .command("init")
    .description("form a swarm of these engines (the first manages it), after checking they reach each other")
    .argument("<engines...>", "docker contexts or engine URLs, two or more")
    .option(
      "--advertise <name=address...>",
      "the address a host is reached by (default: the address in its engine URL)",
    )
    .action(async (names: string[], opts: { advertise?: string[] }) => {
      const given = new Map(
        (opts.advertise ?? []).map((a) => {
          const [k, v] = a.split("=");
          if (!k || !v) throw new InputError(`--advertise ${a}: give NAME=ADDRESS`);
          return [k, v] as const;
        }),
      );
      const hosts = reachable(await engines(names));
      await formSwarm(
        hosts.map((h) => ({ ...h, addr: advertiseAddress(h.name, h.engine, given) })),
        toStderr,
      );
    });

  cluster
    .command("leave")
    .description("make these engines leave the swarm fwlab formed (workers first)")
    .argument("[engines...]", "docker contexts or engine URLs (default: the simulated cluster's)")
    .option("--force", "also a swarm fwlab did not form")
    .action(async (names: string[], opts: { force?: boolean }) => {
      await leaveSwarm(reachable(await engines(names)), { force: opts.force, progress: toStderr });
    });

  const sim = cluster
    .command("sim")
    .description(
      "a cluster on this machine: engines in network namespaces, for tests and for trying it (root)",
    );
  sim
    .command("up")
    .description("start N engines, name them as docker contexts fwsim-1..N and form a swarm")
    .option("--hosts <n>", "how many hosts", "3")
    .action(async (opts: { hosts: string }) => {
      await simUp(Number(opts.hosts), await commandEngine(), toStderr);
    });
  sim
    .command("down")
    .description("remove the simulated cluster: its labs, swarm, engines, namespaces and contexts")
    .option("--purge", "also remove the engines' data roots (their images)")
    .action(async (opts: { purge?: boolean }) => {
      await simDown({ purge: opts.purge, progress: toStderr });
    });
}

function statusTable(status: readonly HostStatus[]): string {
  const t = new Table({
    head: ["host", "engine", "swarm", "address", "helper", "labs"],
    style: { head: [], border: [] },
  });
  for (const s of status) {
    t.push([
      s.name,
      s.endpoint,
      s.error ? `not answering: ${s.error.slice(0, 60)}` : swarmRole(s.swarm!),
      s.swarm?.nodeAddr ?? "",
      s.helper ?? "(starts on first use)",
      Object.entries(s.labs)
        .map(([l, n]) => `${l} (${n})`)
        .join("\n"),
    ]);
  }
  return t.toString();
}
