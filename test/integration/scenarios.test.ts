import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { runScenarios } from "../../src/scenarios/run-scenarios.ts";
import type { ScenarioResult } from "../../src/scenarios/step-result.ts";
import { fwlab, labBridges } from "./cli-helpers.ts";
import { sharedLab } from "./shared-lab.ts";

let labName: string;
beforeAll(async () => {
  labName = (await sharedLab()).name;
});

describe("the scenario runner against real containers", () => {
  let results: ScenarioResult[];
  beforeAll(async () => {
    results = await runScenarios(["test/fixtures/scenarios/kinds.scenario.yml"], {
      labName,
      bundleDir: "test-results/bundles",
    });
  });

  it("runs every probe kind and observes every verdict a firewall can cause", () => {
    const steps = results[0]!.steps;
    for (const s of steps.filter((x) => !x.passed)) expect.soft(s.reason, s.name).toBeUndefined();
    expect(results[0]!.passed).toBe(true);
    expect(new Set(steps.map((s) => s.probe).filter(Boolean))).toEqual(
      new Set(["ping", "tcp", "udp", "dns", "ssh", "ftp", "http", "scan"]),
    );
    expect(new Set(steps.filter((s) => s.kind === "probe").map((s) => s.observed))).toEqual(
      new Set(["ok", "timeout", "refused", "unreachable"]),
    );
  });

  it("tells DROP from REJECT: a reset is refused, host-prohibited is unreachable, silence is a timeout", () => {
    const by = Object.fromEntries(results[0]!.steps.map((s) => [s.name, s]));
    expect(by["reject tcp"]).toMatchObject({ observed: "refused" });
    expect(by["reject ping"]).toMatchObject({ observed: "unreachable" });
    expect(by["dropped tcp"]).toMatchObject({ observed: "timeout" });
  });

  it("says timeout as soon as the firewall drops the packet, naming the rule or policy", () => {
    const by = Object.fromEntries(results[0]!.steps.map((s) => [s.name, s]));
    // The firewall's trace decided: the detail names the policy, not a client timeout.
    expect(by["dropped tcp"]!.detail).toMatch(
      /^dropped by fw filter FORWARD policy DROP; seen \d+ ms after sending/,
    );
    expect(by["dropped tcp"]!.evidence?.trace?.at(-1)).toMatchObject({ chain: "FORWARD", verdict: "DROP" });
    // Side by side, each dropped probe has its own packet's rule; the others were not taken for drops.
    for (const name of ["batch dropped http", "batch dropped tcp"])
      expect(by[name]!.detail, name).toMatch(
        /^dropped by fw filter FORWARD rule 2 \(-A FORWARD -p tcp -m tcp --dport 80 -j DROP\)/,
      );
    for (const name of ["batch https", "batch ping", "batch dns"])
      expect(by[name]!.observed, name).toBe("ok");
    // A packet lost where no firewall traces it: the step's own timeout is the fallback, said
    // once the firewalls' traces have caught up.
    expect(by["silent elsewhere"]!.detail).toBe("no answer within 500 ms, and no firewall saw the packet");
    // One a firewall passed on is waited for: here its answer is fw's ICMP host unreachable.
    expect(by["no such host behind fw"]!.detail).toMatch(/EHOSTUNREACH/);
  });

  it("proves from the far side which address a connection came from", () => {
    const whoami = results[0]!.steps.find((s) => s.name === "http")!;
    expect(whoami.evidence?.seenFrom).toBe("10.0.1.10");
  });

  it("leaves the lab as it was: the ruleset before the run is active again", async () => {
    const lab = await sharedLab();
    const rules = (await lab.exec("fw", ["fwlab-ruleset", "save"])).stdout;
    expect(rules).not.toContain("REJECT");
    expect(rules).not.toContain(":FORWARD DROP");
  });
});

describe("fwlab run", () => {
  it("a lab the run starts itself: its first step's LOG line is there (the log reader began before the lab)", async () => {
    // The race itself (the marker passing a line that waits for the address book) is pinned on
    // the fake engine (unit/kernel-log-order); here, real runs that start their lab, three times.
    for (let i = 0; i < 3; i++) {
      const [r] = await runScenarios(["test/fixtures/scenarios/log-first.scenario.yml"], {
        labName: "logfirst",
        bundleDir: "test-results/bundles",
      });
      expect(r!.passed, r!.steps[0]?.reason ?? r!.error).toBe(true);
    }
  });

  it("a lab whose firewall names its interfaces eth0-eth2, as classic scripts expect: its LOG lines are its own", async () => {
    const [r] = await runScenarios(["test/fixtures/scenarios/classic-eth.scenario.yml"], {
      bundleDir: "test-results/bundles",
    });
    expect(r!.steps.filter((s) => !s.passed).map((s) => `${s.name}: ${s.reason}`)).toEqual([]);
    expect(r!.error).toBeUndefined();
  });

  it("exits 1 on a wrong expectation, says why in one line, and leaves a failure bundle", async () => {
    rmSync("test-results/wrong", { recursive: true, force: true });
    const r = await fwlab(
      "run",
      "test/fixtures/scenarios/wrong-expectation.scenario.yml",
      "--name",
      labName,
      "--bundle-dir",
      "test-results/wrong",
      "--junit",
      "test-results/wrong.xml",
    );
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /✗ web is said to be blocked: expected timeout, observed ok: TCP 10\.0\.1\.10:\d+ -> 10\.0\.2\.80:80 accepted by fw filter FORWARD policy ACCEPT/,
    );
    expect(r.stdout).toContain("1 passed, 1 failed");
    const [dir] = readdirSync("test-results/wrong/test-fixtures-scenarios-wrong-expectation");
    const bundle = join("test-results/wrong/test-fixtures-scenarios-wrong-expectation", dir!);
    expect(readdirSync(bundle).sort()).toEqual([
      "fw-conntrack.txt",
      "fw-rules.txt",
      "fw.pcap",
      "logs.jsonl",
      "step.json",
    ]);
    expect(readFileSync(join(bundle, "fw-rules.txt"), "utf8")).toContain("Chain FORWARD");
    expect(readFileSync(join(bundle, "fw.pcap")).length).toBeGreaterThan(24 + 16); // the SYN at least
    const junit = readFileSync("test-results/wrong.xml", "utf8");
    expect(junit).toContain('<testcase classname="a wrong expectation" name="web is said to be blocked"');
    expect(junit).toMatch(/<failure message="expected timeout, observed ok: TCP/);
  });

  it("writes a JSON report with every step's expected and observed verdict and evidence", async () => {
    const r = await fwlab(
      "run",
      "test/fixtures/scenarios/wrong-expectation.scenario.yml",
      "--name",
      labName,
      "--report",
      "json",
      "--bundle-dir",
      "test-results/wrong",
    );
    const report = JSON.parse(r.stdout);
    expect(report.summary).toMatchObject({ passed: 1, failed: 1 });
    const step = report.scenarios[0].steps[1];
    expect(step).toMatchObject({ expected: "timeout", observed: "ok", passed: false });
    expect(step.evidence.counters.fw.length).toBeGreaterThan(0);
  });

  for (const [file, message] of [
    [
      "scenario-unknown-node.scenario.yml",
      /steps\.0\.from: unknown node "clinet" \(did you mean "client"\?\)/,
    ],
    [
      "scenario-unknown-probe.scenario.yml",
      /steps\.0\.probe: unknown probe "pnig" \(did you mean "ping"\?\)/,
    ],
    ["scenario-missing-ruleset.scenario.yml", /rulesets\.fw: file .*no-such-ruleset\.sh does not exist/],
  ] as const) {
    it(`${file}: exit 2, one error with file and place, nothing started`, async () => {
      const r = await fwlab("run", `test/fixtures/bad/${file}`, "--name", "badscn");
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`${file.replace(/\./g, "\\.")}:\\d+:\\d+: `));
      expect(r.stderr).toMatch(message);
      expect(
        execFileSync("docker", ["ps", "-aq", "--filter", "label=fwlab.lab=badscn"], { encoding: "utf8" }),
      ).toBe("");
      expect(labBridges("badscn")).toBe("");
      expect(existsSync("fwlab-results/badscn")).toBe(false);
    });
  }
});
