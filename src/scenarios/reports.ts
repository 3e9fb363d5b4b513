import { relative } from "node:path";
import Table from "cli-table3";
import { projectRoot } from "../util/project-root.ts";
import type { ScenarioResult, StepResult } from "./step-result.ts";

export interface RunSummary {
  readonly scenarios: number;
  readonly passed: number;
  readonly failed: number;
  readonly skipped: number;
  /** The run's own time when given (labs started, scenarios side by side with --jobs), else its scenarios' added up. */
  readonly durationMs: number;
}

export function summarize(results: readonly ScenarioResult[], wallMs?: number): RunSummary {
  const steps = results.flatMap((r) => r.steps);
  return {
    scenarios: results.length,
    passed: steps.filter((s) => s.passed).length,
    failed: steps.filter((s) => !s.passed).length + results.filter((r) => r.error).length,
    skipped: results.filter((r) => r.skipped).length,
    durationMs: wallMs ?? results.reduce((t, r) => t + r.durationMs, 0),
  };
}

const ms = (x: number) => (x >= 1000 ? `${(x / 1000).toFixed(1)} s` : `${Math.round(x)} ms`);

function evidenceCell(s: StepResult): string {
  const ev = s.checks.slice(1).map((c) => `${c.ok ? "✓" : "✗"} ${c.what}`);
  return ev.join("\n");
}

/** The terminal report: a table per scenario (step, expected, observed, evidence, time) and a summary. */
export function tableReport(results: readonly ScenarioResult[], wallMs?: number): string {
  const out: string[] = [];
  for (const r of results) {
    const head = `${r.skipped ? "SKIP" : r.passed ? "PASS" : "FAIL"} ${r.name} (${relative(projectRoot(), r.file)}, lab ${r.lab}) ${ms(r.durationMs)}`;
    out.push(head);
    if (r.skipped) {
      out.push(`  skipped: ${r.skipped}`);
      continue;
    }
    const t = new Table({
      head: ["", "step", "expected", "observed", "evidence", "time"],
      style: { head: [], border: [] },
      colWidths: [3, 40, 10, 10, 48, 9],
      wordWrap: true,
    });
    for (const s of r.steps)
      t.push([s.passed ? "✓" : "✗", s.name, s.expected, s.observed, evidenceCell(s), ms(s.durationMs)]);
    out.push(t.toString());
    for (const s of r.steps.filter((x) => !x.passed)) {
      out.push(
        `  ✗ ${s.name}: ${s.reason}${s.bundle ? `\n    failure bundle: ${relative(process.cwd(), s.bundle)}` : ""}`,
      );
    }
    if (r.error) out.push(`  scenario stopped: ${r.error}`);
    for (const i of r.incidents ?? []) out.push(`  ! ${i}`);
  }
  const sum = summarize(results, wallMs);
  out.push(
    `${sum.passed} passed, ${sum.failed} failed${sum.skipped ? `, ${sum.skipped} skipped` : ""} (${sum.scenarios} scenarios, ${ms(sum.durationMs)})`,
  );
  return out.join("\n");
}

/** Every step's expected and observed verdict and its evidence, for machines. */
export function jsonReport(results: readonly ScenarioResult[], wallMs?: number): string {
  return JSON.stringify({ summary: summarize(results, wallMs), scenarios: results }, null, 2);
}

const xml = (s: string) =>
  s
    .replace(
      /[<>&"']/g,
      (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&apos;" })[c]!,
    )
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, "");

/** JUnit XML: a testsuite per scenario, a testcase per step; a failure's message is its one-line reason. */
export function junitReport(results: readonly ScenarioResult[], wallMs?: number): string {
  const sum = summarize(results, wallMs);
  const suites = results.map((r) => {
    const cases = r.steps.map((s) => {
      const body = s.passed
        ? ""
        : `<failure message="${xml(s.reason ?? "failed")}">${xml([s.detail, ...s.checks.map((c) => `${c.ok ? "ok" : "FAILED"} ${c.what}: ${c.detail}`), s.bundle ? `bundle: ${s.bundle}` : ""].join("\n"))}</failure>`;
      return `    <testcase classname="${xml(r.name)}" name="${xml(s.name)}" time="${(s.durationMs / 1000).toFixed(3)}">${body}</testcase>`;
    });
    if (r.error)
      cases.push(
        `    <testcase classname="${xml(r.name)}" name="scenario" time="0"><error message="${xml(r.error)}"/></testcase>`,
      );
    if (r.skipped)
      cases.push(
        `    <testcase classname="${xml(r.name)}" name="scenario" time="0"><skipped message="${xml(r.skipped)}"/></testcase>`,
      );
    const failures = r.steps.filter((s) => !s.passed).length;
    const incidents = r.incidents?.length
      ? `\n    <system-err>${xml(r.incidents.join("\n"))}</system-err>`
      : "";
    return `  <testsuite name="${xml(r.name)}" tests="${cases.length}" failures="${failures}" errors="${r.error ? 1 : 0}" skipped="${r.skipped ? 1 : 0}" time="${(r.durationMs / 1000).toFixed(3)}">\n${cases.join("\n")}${incidents}\n  </testsuite>`;
  });
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="fwlab" tests="${sum.passed + sum.failed}" failures="${sum.failed}" time="${(sum.durationMs / 1000).toFixed(3)}">\n${suites.join("\n")}\n</testsuites>\n`;
}
