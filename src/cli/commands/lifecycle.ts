import type { Command } from "commander";
import { findLab, resolveLabName } from "../../lab/find-lab.ts";
import { findLabNodes } from "../../lab/lab-engines.ts";
import { statusOf } from "../../lab/lab-status.ts";
import { removeLab } from "../../lab/remove-lab.ts";
import { byName } from "../../util/by-name.ts";
import { toStderr } from "../../util/progress.ts";
import { commandEngine, interruptSignal } from "../context.ts";
import { statusTable } from "../status-table.ts";

export const DEFAULT_LAB_FILE = "docker-compose.yml";

/** "a,b,c" → ["a", "b", "c"] (commander's parser for --hosts). */
export const commaList = (v: string): string[] =>
  v
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);

export function lifecycleCommands(program: Command): void {
  program
    .command("up")
    .description("start a lab and wait until every node's service answers")
    .argument("[file]", "lab file (Compose format)", DEFAULT_LAB_FILE)
    .option("-n, --name <name>", "lab name (default: x-fwlab.name in the file, else fwlab)")
    .option("--timeout <seconds>", "how long services may take to answer", "30")
    .option(
      "--timings",
      "say where the time went: the CLI's own start, reading the lab file, then each stage",
    )
    .option(
      "--hosts <engines>",
      'spread the lab over these engines (docker contexts or URLs, comma-separated; README "Several hosts")',
      commaList,
    )
    .option(
      "--allow-unsafe",
      "let the lab file grant what reaches beyond the lab (capabilities beyond the network ones, privileged, host namespaces, host mounts)",
    )
    .action(
      async (
        file: string,
        opts: { name?: string; timeout: string; timings?: boolean; allowUnsafe?: boolean; hosts?: string[] },
      ) => {
        // Milliseconds since the process started: what the CLI itself cost before any work.
        const cliMs = performance.now();
        const times: [string, number][] = [];
        const engine = await commandEngine();
        engine.host.prepare(); // wiring needs the host helper: its start overlaps reading the file
        // The lab file's reader (YAML, schemas) loads only here: down and status need none of it.
        const { startLab } = await import("../../lab/start-lab.ts");
        const lab = await startLab(file, {
          name: opts.name,
          engine,
          progress: toStderr,
          signal: interruptSignal(),
          readyTimeoutMs: Number(opts.timeout) * 1000,
          allowUnsafe: opts.allowUnsafe,
          hosts: opts.hosts,
          timings: opts.timings ? (stage, ms) => times.push([stage, ms]) : undefined,
        });
        // startLab returned: every node answered, no need to ask Docker again.
        console.log(statusTable(lab.nodes.map((n) => ({ ...n, ready: true }))));
        if (opts.timings) {
          // Stages that happen per node (created, started, linked) end with their last node; read
          // includes loading the code that reads lab files; printed is the table above.
          const last = new Map([["cli start", cliMs], ...times, ["printed", performance.now()]]);
          toStderr(
            `timings (ms since the process started, when each stage ended): ${[...last].map(([s, ms]) => `${s} ${Math.round(ms)}`).join(", ")}`,
          );
        }
        if (lab.multiHost)
          toStderr(
            `Lab ${lab.name} spans ${[...lab.engines.keys()].join(", ")}; other commands find it through any of them (\`fwlab -c ${[...lab.engines.keys()][0]} status\`)`,
          );
      },
    );

  program
    .command("down")
    .description("remove every container and network of a lab (found by label)")
    .option("-n, --name <name>", "lab name")
    .option("--all", "remove every fwlab lab")
    .action(async (opts: { name?: string; all?: boolean }) => {
      const engine = await commandEngine();
      engine.host.prepare(); // links and host rules go with the lab
      const target = opts.all ? { all: true as const } : await resolveLabName(engine.runtime, opts.name);
      const r = await removeLab(engine, target);
      const what = typeof target === "string" ? `lab ${target}` : "every fwlab lab";
      toStderr(
        r.containers + r.networks === 0
          ? `Nothing to remove for ${what}`
          : `Removed ${what}: ${r.containers} containers, ${r.networks} networks`,
      );
      for (const u of r.unreachable)
        toStderr(`  host ${u.host} did not answer, what runs there is left: ${u.reason}`);
      for (const l of r.left ?? []) toStderr(`  ${l}`);
      if (r.unreachable.length > 0 || r.left?.length) {
        toStderr(
          `  once it answers again, \`fwlab down${opts.all ? " --all" : ` --name ${target as string}`}\` removes the rest`,
        );
        process.exitCode = 1;
      }
    });

  program
    .command("status")
    .description("nodes of a lab with role, state, addresses and image")
    .option("-n, --name <name>", "lab name")
    .option("--json", "machine-readable output")
    .action(async (opts: { name?: string; json?: boolean }) => {
      const engine = await commandEngine();
      // One listing finds the lab and its nodes; their outputs are read all at once.
      const lab = await findLab(engine.runtime, opts.name);
      // A multi-host lab's nodes are asked on every host it spans.
      const { engines, unreachable, nodes } = await findLabNodes(engine, lab.name, lab.containers);
      const parts = await Promise.all(
        [...engines].map(([host, e]) =>
          statusOf(
            e.runtime,
            lab.name,
            nodes.filter((n) => n.host === host),
          ),
        ),
      );
      const status = {
        lab: lab.name,
        nodes: parts.flatMap((p) => p.nodes).sort(byName),
        // A host of the lab may hold none of its nodes.
        ready:
          unreachable.length === 0 && nodes.length > 0 && parts.every((p) => p.ready || p.nodes.length === 0),
      };
      const where = engines.size > 1 ? `hosts ${[...engines.keys()].join(", ")}` : `engine ${engine.name}`;
      if (opts.json)
        return console.log(
          JSON.stringify(
            { ...status, engine: engine.name, hosts: [...engines.keys()], unreachable },
            null,
            2,
          ),
        );
      if (status.nodes.length === 0)
        return console.log(`lab ${status.lab} is not running on engine ${engine.name}`);
      console.log(`lab ${status.lab} on ${where}: ${status.ready ? "ready" : "not ready"}`);
      console.log(statusTable(status.nodes));
      for (const u of unreachable) console.log(`host ${u.host} does not answer: ${u.reason}`);
    });
}
