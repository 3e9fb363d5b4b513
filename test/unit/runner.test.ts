import { describe, expect, it } from "vitest";
import { startLab } from "../../src/lab/start-lab.ts";
import { LABEL } from "../../src/runtime/labels.ts";
import { runScenarios } from "../../src/scenarios/run-scenarios.ts";
import { fakeEngine, type NodeScript, withImages } from "../support/fake-engine.ts";
import { scratchDir } from "../support/scratch-dir.ts";

// The scenario runner on the fake engine: probes answered by a scripted agent, commands by a
// scripted node. What is checked is the runner's own work: verdicts against expectations, the
// reasons it gives, the lab it starts, attaches to and stops, and a node that dies mid-run.
const DIR = "test/fixtures/scenarios/flat";
const IMAGES = ["fwlab/client:latest", "fwlab/web:latest"];
/** Where the runner writes its bundles of evidence. */
const BUNDLES = scratchDir("unit-bundles");

/** web answers tcp 80, refuses 81, drops udp; ping answers; `false` fails; `sleep` takes its time. */
const script: NodeScript = {
  probe: (_c, kind, params) => {
    if (kind === "tcp") return params.port === 80 ? { verdict: "ok" } : { verdict: "refused", detail: "RST" };
    if (kind === "udp") return { verdict: "timeout", delayMs: Number(params.timeoutMs ?? 500) };
    return { verdict: "ok" };
  },
  exec: (_c, argv) => {
    if (argv[0] === "false") return { exitCode: 1, stderr: "" };
    if (argv[0] === "echo") return { stdout: `${argv.slice(1).join(" ")}\n` };
    return undefined;
  },
};

const engineWith = (s: NodeScript = script) => {
  const engine = fakeEngine(s);
  withImages(engine, IMAGES);
  return engine;
};

describe("runScenarios on the fake engine", () => {
  it("starts the lab it needs, judges every step, and removes the lab it started", async () => {
    const engine = engineWith();
    const [r] = await runScenarios([`${DIR}/verdicts.scenario.yml`], {
      engine,
      bundleDir: BUNDLES,
    });
    expect(r!.passed, JSON.stringify(r, null, 1)).toBe(true);
    expect(r!.steps.map((s) => [s.name, s.expected, s.observed, s.passed])).toEqual([
      ["web answers", "ok", "ok", true],
      ["nothing on 81", "refused", "refused", true],
      ["no udp echo", "timeout", "timeout", true],
      ["a command", "succeeds", "succeeds", true],
    ]);
    expect(engine.runtime.calls.filter((c) => c.startsWith("create"))).toHaveLength(2);
    expect(engine.runtime.containers.size).toBe(0);
    expect(engine.host.bridges.size).toBe(0);
  });

  it("attaches to a lab that is up, and leaves it running", async () => {
    const engine = engineWith();
    await startLab("test/fixtures/labs/flat.yml", { engine });
    const creates = engine.runtime.calls.filter((c) => c.startsWith("create")).length;
    const [r] = await runScenarios([`${DIR}/verdicts.scenario.yml`], {
      engine,
      bundleDir: BUNDLES,
    });
    expect(r!.passed).toBe(true);
    expect(engine.runtime.calls.filter((c) => c.startsWith("create")).length).toBe(creates);
    expect(engine.runtime.containers.size).toBe(2);
  });

  it("a probe agent that could not start is started again; one that fails twice fails its scenario, and the next scenario starts another", async () => {
    const engine = engineWith({
      ...script,
      agentStarts: (c, n) => !c.spec.name.endsWith("-client") || n > 2,
    });
    const [first, second] = await runScenarios(
      [`${DIR}/verdicts.scenario.yml`, `${DIR}/verdicts.scenario.yml`],
      {
        engine,
        bundleDir: BUNDLES,
      },
    );
    expect(first!.passed).toBe(false);
    expect(first!.error).toBe("[client] the probe agent ended before it started");
    expect(second!.passed, JSON.stringify(second)).toBe(true);
    expect(
      engine.runtime.calls.filter((c) => /^stream \S+ node \/usr\/local\/lib\/fwlab\/agent\.js$/.test(c)),
    ).toHaveLength(3); // the client's agent: twice for the first scenario, once for the second
  });

  it("a probe agent whose first start fails (busy hosts) is started again, and its scenario passes", async () => {
    const engine = engineWith({
      ...script,
      agentStarts: (c, n) => !c.spec.name.endsWith("-client") || n > 1,
    });
    const [r] = await runScenarios([`${DIR}/verdicts.scenario.yml`], {
      engine,
      bundleDir: BUNDLES,
    });
    expect(r!.passed, JSON.stringify(r)).toBe(true);
  });

  it("a wrong expectation and a failing command fail with their reasons; later steps still run", async () => {
    const engine = engineWith();
    const [r] = await runScenarios([`${DIR}/wrong.scenario.yml`], {
      engine,
      bundleDir: BUNDLES,
    });
    expect(r!.passed).toBe(false);
    const [drop, cmd, after] = r!.steps;
    expect(drop).toMatchObject({ passed: false, expected: "timeout", observed: "ok" });
    expect(drop!.reason).toMatch(/^expected timeout, observed ok/);
    expect(cmd).toMatchObject({ passed: false, expected: "succeeds", observed: "fails" });
    expect(cmd!.reason).toMatch(/exit 1/);
    expect(after).toMatchObject({ passed: true, observed: "ok" });
  });

  it("a node killed mid-scenario: the steps that need it fail saying so", async () => {
    const engine = engineWith({
      ...script,
      exec: (c, argv) => {
        // The client's container dies while its command runs: the command never ends well.
        if (argv[0] !== "sleep") return script.exec!(c, argv);
        engine.runtime.kill(c.spec.labels[LABEL.node]!, "flat");
        return { exitCode: -1 };
      },
    });
    const [r] = await runScenarios([`${DIR}/slow.scenario.yml`], {
      engine,
      bundleDir: BUNDLES,
    });
    expect(r!.passed).toBe(false);
    const reasons = r!.steps.map((s) => s.reason ?? "").join("\n") + (r!.error ?? "");
    expect(reasons).toMatch(/\[client\] its container died at \S+ \(exit 137, killed\)/);
  });

  /** The two-labs scenarios (first and third on lab flat, second on flat2); flat's web answers after `slowMs`. */
  const twoLabs = async (jobs: number, slowMs: number) => {
    const engine = engineWith({
      ...script,
      probe: (c, kind, params) =>
        c.spec.labels[LABEL.lab] === "flat"
          ? { verdict: "ok", delayMs: slowMs }
          : script.probe!(c, kind, params),
    });
    const seen: string[] = [];
    let plan: readonly string[] = [];
    const files = ["first", "second", "third"].map(
      (n) => `test/fixtures/scenarios/two-labs/${n}.scenario.yml`,
    );
    const results = await runScenarios(files, {
      engine,
      jobs,
      bundleDir: BUNDLES,
      onPlan: (labs) => {
        plan = labs;
      },
      onStep: (s, r) => seen.push(`${s.scenario.name}: ${r.name}`),
    });
    return { engine, seen, plan, results: results.map((r) => [r.name, r.passed]) };
  };
  const inFileOrder = [
    ["first", true],
    ["second", true],
    ["third", true],
  ];

  it("jobs 2: runs the scenarios of two labs at the same time, each lab's in file order; results in file order", async () => {
    const { engine, seen, plan, results } = await twoLabs(2, 1500);
    expect(plan).toEqual(["flat", "flat2"]);
    expect(results).toEqual(inFileOrder);
    // The second lab did not wait for the first lab's slow step; the first lab's scenarios kept their order.
    expect(seen).toEqual([
      "second: quick answer",
      "second: a command",
      "first: slow answer",
      "third: a command",
    ]);
    expect(engine.runtime.containers.size).toBe(0);
  });

  it("jobs 1: one lab's scenarios at a time", async () => {
    const { seen, plan, results } = await twoLabs(1, 300);
    expect(plan).toEqual([]);
    expect(results).toEqual(inFileOrder);
    expect(seen).toEqual([
      "first: slow answer",
      "third: a command",
      "second: quick answer",
      "second: a command",
    ]);
  });

  it("an engine that goes away mid-run: the run ends with the engine's error, no hang", async () => {
    const engine = engineWith({
      ...script,
      exec: (c, argv) => {
        if (argv[0] === "sleep") engine.runtime.down = new Error("connect ECONNREFUSED /var/run/docker.sock");
        return script.exec!(c, argv);
      },
    });
    const [r] = await runScenarios([`${DIR}/slow.scenario.yml`], {
      engine,
      bundleDir: BUNDLES,
    }).catch((err: Error) => [{ passed: false, error: err.message, steps: [] }]);
    expect(r!.passed).toBe(false);
    expect(JSON.stringify(r)).toMatch(/ECONNREFUSED/);
  });
});
