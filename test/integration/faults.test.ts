import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { watchConntrack } from "../../src/evidence/conntrack-source.ts";
import { EventBus } from "../../src/evidence/event-bus.ts";
import type { EvidenceEvent, LossEvent } from "../../src/evidence/events.ts";
import { watchNflog } from "../../src/evidence/nflog-source.ts";
import { connectEngine, removeLab, type StartedLab, startLab } from "../../src/index.ts";
import { runScenarios } from "../../src/scenarios/run-scenarios.ts";
import { until } from "../support/until.ts";
import { fwlab, spawnFwlab } from "./cli-helpers.ts";

// Faults injected into a lab of its own (10.40.x): the shared lab is not touched.
const LAB_FILE = "test/fixtures/labs/faults.yml";
const docker = (...args: string[]) => execFileSync("docker", args, { encoding: "utf8" }).trim();
const container = (lab: string, node: string) =>
  docker("ps", "-aq", "--filter", `label=fwlab.lab=${lab}`, "--filter", `label=fwlab.node=${node}`);
/** fwlab's helper processes in a node (probe agent, trace monitor, capture, NFLOG listener). */
const helpersIn = (lab: StartedLab, node: string) =>
  lab
    .exec(node, [
      "sh",
      "-c",
      "ps -eo args | grep -E '[a]gent.js|[n]ftrace|[c]tevents|[t]cpdump|[u]logd' || true",
    ])
    .then((r) => r.stdout.trim());
describe("faults", () => {
  let lab: StartedLab;
  const engine = connectEngine();
  beforeAll(async () => {
    await removeLab(await engine, "faults");
    lab = await startLab(LAB_FILE, { engine: await engine });
  });
  afterAll(async () => {
    await removeLab(await engine, "faults");
  });

  it("a ruleset that drops everything, OUTPUT included: evidence is still read and the lab put back", async () => {
    const before = (await lab.exec("fw", ["fwlab-ruleset", "save"])).stdout;
    const [r] = await runScenarios(["test/fixtures/scenarios/faults/lockdown.scenario.yml"], {
      engine: await engine,
    });
    for (const s of r!.steps) expect.soft(s.reason, s.name).toBeUndefined();
    expect(r!.steps[0]!.evidence?.logs.map((l) => l.source).sort()).toEqual(["LOG", "NFLOG"]);
    expect((await lab.exec("fw", ["fwlab-ruleset", "save"])).stdout).toBe(before);
  });

  it("an evidence stream killed: it is restarted, the gap is reported, and events flow again", async () => {
    const bus = new EventBus();
    const got: EvidenceEvent[] = [];
    bus.subscribe((e) => got.push(e));
    await lab.loadRuleset("fw", "test/fixtures/rulesets/nflog-accept.sh");
    const ct = await watchConntrack(lab, "fw", bus);
    const nflog = await watchNflog(lab, "fw", bus);
    try {
      await lab.exec("fw", ["pkill", "-9", "-f", "ctevents"]);
      await lab.exec("fw", ["pkill", "-9", "ulogd"]);
      const losses = () => got.filter((e): e is LossEvent => e.kind === "loss");
      await until(() => losses().length >= 2);
      expect(
        losses()
          .map((l) => l.source)
          .sort(),
      ).toEqual(["conntrack", "nflog"]);
      for (const l of losses())
        expect(l.reason).toMatch(
          /ended unexpectedly and was restarted: events between \S+ and \S+ were not seen/,
        );
      expect(got.some((e) => e.kind === "conntrack-table" && e.reason === "resync")).toBe(true);
      await lab.exec("client", ["ping", "-c", "1", "-W", "1", "10.40.2.80"]);
      expect(
        await until(() => got.some((e) => e.kind === "conntrack" && e.entry.original.dst === "10.40.2.80")),
      ).toBe(true);
      expect(await until(() => got.some((e) => e.kind === "packet-log" && e.source === "NFLOG"))).toBe(true);
    } finally {
      await ct.stop();
      await nflog.stop();
      await lab.loadRuleset("fw", "test/fixtures/rulesets/open.sh");
    }
  });

  it("kill -9 during a run: nothing of it lingers, and the next run puts the lab back first", async () => {
    const before = (await lab.exec("fw", ["fwlab-ruleset", "save"])).stdout;
    const child = spawnFwlab("run", "test/fixtures/scenarios/faults/slow.scenario.yml");
    // Killed while its ruleset is loaded and its listeners run: during the 20 s wait step.
    expect(
      await until(
        async () => (await lab.exec("client", ["pgrep", "-f", "sleep 20.5"])).exitCode === 0,
        60_000,
      ),
    ).toBe(true);
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    expect((await lab.exec("fw", ["fwlab-ruleset", "save"])).stdout).toContain("--dport 80 -j DROP"); // left behind
    // Its helpers go with it: they lose their stdin when its streams close.
    expect(
      await until(async () => (await helpersIn(lab, "fw")) === "" && (await helpersIn(lab, "client")) === ""),
    ).toBe(true);
    const next = await fwlab("run", "test/fixtures/scenarios/faults/lockdown.scenario.yml");
    expect(next.code, next.stderr).toBe(0);
    expect(next.stderr).toMatch(/\[fw\] put back the ruleset and sysctls a run that died/);
    expect((await lab.exec("fw", ["fwlab-ruleset", "save"])).stdout).toBe(before);
    expect((await lab.exec("fw", ["nft", "list", "tables"])).stdout).not.toContain("fwlab_trace");
    expect((await lab.exec("fw", ["ls", "/run/fwlab"])).stdout).not.toContain("run-journal");
    await lab.exec("client", ["pkill", "-f", "sleep 20.5"]);
  });

  it("the engine restarted during a run: a clear error, no hang, and the next run works", async () => {
    const child = spawnFwlab("run", "test/fixtures/scenarios/faults/slow.scenario.yml");
    let output = "";
    child.stdout.on("data", (b) => (output += b));
    child.stderr.on("data", (b) => (output += b));
    const exited = new Promise<number>((r) => child.once("exit", (code) => r(code ?? -1)));
    expect(
      await until(
        async () => (await lab.exec("client", ["pgrep", "-f", "sleep 20.5"])).exitCode === 0,
        60_000,
      ),
    ).toBe(true);
    // This machine's engine only (by its pid file): a test's second engine (remote-engine.sh) lives on.
    execFileSync("sh", ["-c", "kill -TERM $(cat /var/run/docker.pid)"]);
    const engineDown = () => {
      try {
        execFileSync("docker", ["version"], { stdio: "ignore", timeout: 2000 });
        return false;
      } catch {
        return true;
      }
    };
    expect(await until(engineDown, 30_000)).toBe(true);
    // The run ends on its own, well before its 20 s wait would have: no hang.
    const code = await Promise.race([
      exited,
      new Promise<string>((r) => setTimeout(() => r("hung"), 30_000)),
    ]);
    expect(code, output).toBe(1);
    expect(output).toMatch(/the Docker engine default went away during docker exec/);
    execFileSync("sh", ["scripts/start-engine.sh"]);
    // Live restore: the lab kept running, and fwlab works with it again.
    const ping = await lab.exec("client", ["ping", "-c", "1", "-W", "1", "10.40.2.80"]);
    expect(ping.exitCode, ping.stdout).toBe(0);
    const next = await fwlab("run", "test/fixtures/scenarios/faults/lockdown.scenario.yml");
    expect(next.code, next.stderr).toBe(0);
    expect(next.stderr).toMatch(/put back the ruleset and sysctls a run that died/);
    await lab.exec("client", ["pkill", "-f", "sleep 20.5"]);
  });

  it("a node's container killed mid-scenario: the steps that need it fail saying so, the others run", async () => {
    const [r] = await runScenarios(["test/fixtures/scenarios/faults/node-killed.scenario.yml"], {
      engine: await engine,
      onStep: (_s, step) => {
        if (step.index === 0) docker("kill", container(lab.name, "web"));
      },
    });
    const [first, , second, third, fourth] = r!.steps;
    expect(first).toMatchObject({ passed: true });
    // Whether the death was known before the step began or met while it ran, the reason names it.
    for (const s of [second!, fourth!]) {
      expect(s.passed).toBe(false);
      expect(s.reason).toMatch(/\[web\] its container died at \S+ \(exit 137, killed\)/);
    }
    expect(third).toMatchObject({ passed: true, observed: "ok" });
    expect(r!.incidents).toEqual([expect.stringMatching(/^node web's container died at \S+ \(exit 137\)/)]);
    expect((await fwlab("down", "--name", lab.name)).code).toBe(0);
    expect(docker("ps", "-aq", "--filter", `label=fwlab.lab=${lab.name}`)).toBe("");
  });
});
