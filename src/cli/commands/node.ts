import type { Command } from "commander";
import type { Backend } from "../../topology/lab-spec.ts";
import { toStderr } from "../../util/progress.ts";
import { currentLab } from "../context.ts";

export function nodeCommands(program: Command): void {
  program
    .command("exec")
    .description("run a command in a node; its exit code is passed through")
    .argument("<node>")
    .argument("<command...>", "the command (put it after --)")
    .option("-n, --name <name>", "lab name")
    .action(async (node: string, argv: string[], opts: { name?: string }) => {
      const lab = await currentLab(opts.name);
      const r = await lab.exec(node, argv);
      process.stdout.write(r.stdout);
      process.stderr.write(r.stderr);
      process.exitCode = r.exitCode;
    });

  program
    .command("load")
    .description(
      "load a ruleset (iptables-save, iptables or ip6tables script, or nft file) into a firewall node, all or nothing",
    )
    .argument("<node>")
    .argument("<file>")
    .option("-n, --name <name>", "lab name")
    .option("--backend <backend>", "iptables-nft (default), iptables-legacy or nft")
    .option(
      "--ipv6 <file>",
      "an ip6tables ruleset (ip6tables-save or script) loaded with <file>, all or nothing",
    )
    .action(async (node: string, file: string, opts: { name?: string; backend?: Backend; ipv6?: string }) => {
      const lab = await currentLab(opts.name);
      const r = await lab.loadRuleset(node, file, {
        backend: opts.backend,
        ...(opts.ipv6 ? { ipv6: opts.ipv6 } : {}),
      });
      toStderr(
        `[${node}] loaded ${r.rules} rules from ${file}${opts.ipv6 ? ` and ${opts.ipv6}` : ""} (${r.format}, ${r.backend}) in ${Math.round(r.durationMs)} ms`,
      );
      for (const note of r.notes) toStderr(`[${node}] ${note}`);
    });

  program
    .command("rules")
    .description("every table and chain of a node with line numbers and counters")
    .argument("<node>")
    .option("-n, --name <name>", "lab name")
    .action(async (node: string, opts: { name?: string }) => {
      const lab = await currentLab(opts.name);
      process.stdout.write(await lab.rules(node));
    });
}
