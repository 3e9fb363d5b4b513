import { writeFile } from "node:fs/promises";
import { type Command, InvalidArgumentError } from "commander";
import { findScenarios } from "../../scenarios/find-scenarios.ts";
import { jsonReport, junitReport, summarize, tableReport } from "../../scenarios/reports.ts";
import { runScenarios } from "../../scenarios/run-scenarios.ts";
import { toStderr } from "../../util/progress.ts";
import { commandEngine, interruptSignal } from "../context.ts";
import { commaList } from "./lifecycle.ts";

export function runCommand(program: Command): void {
  program
    .command("run")
    .description("run scenario files (files, or every *.scenario.yml under folders) and report")
    .argument("<paths...>", "scenario files or folders")
    .option("-n, --name <name>", "lab name (default: the lab file's)")
    .option("--report <format>", "table (default) or json, on stdout", "table")
    .option("--junit <file>", "also write a JUnit XML report")
    .option("--bundle-dir <dir>", "where failure bundles go", "fwlab-results")
    .option("--opt-in", "also run scenarios that change the host (optIn: true)")
    .option(
      "-j, --jobs <n>",
      "how many labs' scenarios run at the same time (default: one per two cores of this machine)",
      jobCount,
    )
    .option("--allow-unsafe", "let lab files grant what reaches beyond the lab (see `fwlab up --help`)")
    .option(
      "--hosts <engines>",
      "spread the labs it starts over these engines (see `fwlab up --help`)",
      commaList,
    )
    .action(
      async (
        paths: string[],
        opts: {
          name?: string;
          report: string;
          junit?: string;
          bundleDir: string;
          optIn?: boolean;
          jobs?: number;
          allowUnsafe?: boolean;
          hosts?: string[];
        },
      ) => {
        if (opts.report !== "table" && opts.report !== "json") {
          process.stderr.write(`fwlab: --report takes table or json, not "${opts.report}"\n`);
          process.exit(2);
        }
        const files = findScenarios(paths);
        const signal = interruptSignal();
        let tagged = false;
        const startedAt = performance.now();
        const results = await runScenarios(files, {
          engine: await commandEngine(),
          labName: opts.name,
          signal,
          bundleDir: opts.bundleDir,
          optIn: opts.optIn,
          jobs: opts.jobs,
          allowUnsafe: opts.allowUnsafe,
          hosts: opts.hosts,
          progress: toStderr,
          // Labs run at the same time: each step's line says whose it is.
          onPlan: (labs) => {
            tagged = labs.length > 1;
          },
          onStep: (s, r) =>
            toStderr(
              `  ${tagged ? `[${s.lab.name}] ` : ""}${r.passed ? "✓" : "✗"} ${r.name} (expected ${r.expected}, observed ${r.observed})`,
            ),
        });
        // The run's own time: labs started, and scenarios side by side with --jobs.
        const wallMs = performance.now() - startedAt;
        process.stdout.write(
          `${opts.report === "json" ? jsonReport(results, wallMs) : tableReport(results, wallMs)}\n`,
        );
        if (opts.junit) await writeFile(opts.junit, junitReport(results, wallMs));
        const sum = summarize(results);
        process.exitCode = signal.aborted ? 130 : sum.failed > 0 ? 1 : 0;
      },
    );
}

/** `--jobs`: a whole number from 1. */
function jobCount(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("a whole number from 1");
  return n;
}
