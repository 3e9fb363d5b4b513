import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { fwlab } from "./cli-helpers.ts";
import { sharedLab } from "./shared-lab.ts";

// The seed lab pack is the main job's proof: it must pass on the real kernel, using every probe
// kind and seeing every verdict a firewall can cause.
describe("fwlab run scenarios/", () => {
  it("passes the whole seed pack with JSON and JUnit reports", async () => {
    const lab = await sharedLab();
    const r = await fwlab(
      "run",
      "scenarios/",
      "--name",
      lab.name,
      "--report",
      "json",
      "--junit",
      "test-results/seed-pack.xml",
      "--bundle-dir",
      "test-results/seed-pack",
    );
    const report = JSON.parse(r.stdout);
    const failed = report.scenarios.flatMap(
      (s: { name: string; error?: string; steps: { passed: boolean; name: string; reason: string }[] }) => [
        ...(s.error ? [`${s.name}: ${s.error}`] : []),
        ...s.steps.filter((x) => !x.passed).map((x) => `${s.name} / ${x.name}: ${x.reason}`),
      ],
    );
    expect(failed).toEqual([]);
    expect(r.code).toBe(0);
    const steps = report.scenarios.flatMap(
      (s: { steps: { kind: string; probe?: string; observed: string }[] }) => s.steps,
    );
    expect(new Set(steps.map((s: { probe?: string }) => s.probe).filter(Boolean))).toEqual(
      new Set(["ping", "tcp", "udp", "dns", "ssh", "ftp", "http", "scan"]),
    );
    expect(
      new Set(
        steps
          .filter((s: { kind: string }) => s.kind === "probe")
          .map((s: { observed: string }) => s.observed),
      ),
    ).toEqual(new Set(["ok", "timeout", "refused", "unreachable"]));
    expect(report.scenarios.map((s: { file: string }) => s.file.replace(/.*scenarios\//, "")).sort()).toEqual(
      expect.arrayContaining([
        "seed-000/stateless.scenario.yml",
        "seed-001/policy.scenario.yml",
        "seed-002/timeouts.scenario.yml",
        "seed-003/states.scenario.yml",
      ]),
    );
    const junit = readFileSync("test-results/seed-pack.xml", "utf8");
    expect(junit).toMatch(/<testsuites name="fwlab" tests="\d+" failures="0"/);
  }, 600_000);
});
