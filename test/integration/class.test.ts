import { existsSync, mkdirSync } from "node:fs";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { connectEngine, removeLab, type StartedLab, startLab } from "../../src/index.ts";
import { runScenarios } from "../../src/scenarios/run-scenarios.ts";
import { LabTokens } from "../../src/server/lab-tokens.ts";
import type { ServerMessage } from "../../src/server/protocol.ts";
import { type Dashboard, serveDashboard } from "../../src/server/serve.ts";
import { OPEN_RULES, sharedLab } from "./shared-lab.ts";

const CHROMIUM = "/usr/bin/chromium";
const SHOTS = "test-results/screenshots";

// A class: three labs (the shared one and two students', mini and flat), the teacher's overview of them, and
// a lab token that opens its own lab and nothing of the others.
describe("a class of labs on one dashboard", () => {
  let shared: StartedLab;
  let a: StartedLab;
  let dash: Dashboard;
  let base: string;
  let browser: Browser;
  let tokenA: string;
  const tokens = new LabTokens();
  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    shared = await sharedLab();
    await shared.loadRuleset("fw", "test/fixtures/rulesets/evidence.sh");
    [a] = await Promise.all([
      startLab("test/fixtures/labs/mini.yml"),
      startLab("test/fixtures/labs/flat.yml"),
    ]);
    // Each lab's last run: two that pass, one with a wrong expectation.
    await runScenarios(["test/fixtures/scenarios/class/default.scenario.yml"], { labName: shared.name });
    await runScenarios(["test/fixtures/scenarios/class/mini.scenario.yml"], {});
    await runScenarios(["test/fixtures/scenarios/flat/wrong.scenario.yml"], {});
    dash = await serveDashboard(await connectEngine(), { host: "127.0.0.1", port: 0 });
    base = new URL(dash.url).origin;
    tokenA = tokens.create("mini");
    expect(existsSync(CHROMIUM), "chromium is installed by the set-up").toBe(true);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-gpu"] });
  });
  afterAll(async () => {
    tokens.revoke("mini");
    await browser?.close();
    await dash?.close();
    const engine = await connectEngine();
    await Promise.all([removeLab(engine, "mini"), removeLab(engine, "flat")]);
    await shared.loadRuleset("fw", OPEN_RULES);
  });

  const get = (path: string, token: string) =>
    fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } });
  /** Every message a WebSocket with this token gets in `ms`, while `meanwhile` runs. */
  const listen = async (
    token: string,
    ms: number,
    meanwhile: () => Promise<unknown>,
    send: object[] = [],
  ) => {
    const ws = new WebSocket(`${base.replace("http", "ws")}/ws`, ["fwlab.v1", `token.${token}`], {
      origin: base,
    });
    const got: ServerMessage[] = [];
    ws.on("message", (d) => got.push(JSON.parse(String(d))));
    await new Promise((r) => ws.once("open", r));
    for (const m of send) ws.send(JSON.stringify(m));
    await Promise.all([meanwhile(), new Promise((r) => setTimeout(r, ms))]);
    ws.close();
    return got;
  };

  it("the teacher's overview lists every lab with its nodes and its last run, and links into each", async () => {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    await page.goto(dash.url);
    await page.waitForSelector("#class tbody tr[data-lab]");
    const rows = await page
      .locator("#class tbody tr[data-lab]")
      .evaluateAll((trs) =>
        Object.fromEntries(trs.map((tr) => [(tr as HTMLElement).dataset.lab, tr.textContent ?? ""])),
      );
    expect(Object.keys(rows).sort()).toEqual(expect.arrayContaining(["mini", "flat", shared.name]));
    expect(rows[shared.name]).toMatch(
      /8\/8 running.*✓ passed · test\/fixtures\/scenarios\/class\/default\.scenario\.yml.*s ago/,
    );
    expect(rows.mini).toMatch(
      /3\/3 running.*✓ passed · test\/fixtures\/scenarios\/class\/mini\.scenario\.yml/,
    );
    expect(rows.flat).toMatch(/2\/2 running.*✗ 2 of 3 steps failed.*wrong \/ expects a drop: /);
    await page.screenshot({ path: `${SHOTS}/class-overview.png` });
    // Its link opens that lab's views.
    await page.click('#class a[href="#lab=mini"]');
    await page.waitForFunction(() => (document.getElementById("lab") as HTMLSelectElement).value === "mini");
    expect(await page.locator("#nodes tbody tr").count()).toBe(3);
    await page.close();
  });

  it("a lab's token opens its lab's page and API, and no other lab's API", async () => {
    const labs = (await (await get("/api/labs", tokenA)).json()) as { name: string }[];
    expect(labs.map((l) => l.name)).toEqual(["mini"]);
    expect((await get("/api/labs/mini/nodes/fw/rules", tokenA)).status).toBe(200);
    for (const path of [`/api/labs/${shared.name}/nodes/fw/rules`, "/api/labs/flat/nodes/web/conntrack"])
      expect((await get(path, tokenA)).status, path).toBe(403);
    const run = (lab: string, token: string) =>
      fetch(`${base}/api/runs`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ file: "scenarios/seed-000/stateless.scenario.yml", lab }),
      });
    expect((await run(shared.name, tokenA)).status).toBe(403);
    // Host-wide settings reach every lab: an opt-in run is the teacher's.
    const optIn = await fetch(`${base}/api/runs`, {
      method: "POST",
      headers: { authorization: `Bearer ${tokenA}`, "content-type": "application/json" },
      body: JSON.stringify({ file: "scenarios/seed-002/table-full.scenario.yml", lab: "mini", optIn: true }),
    });
    expect(optIn.status).toBe(403);
    // A scenario of another lab file runs in a lab of its own (started if need be): not with a lab's token.
    expect((await run("mini", tokenA)).status).toBe(403);
    const load = await fetch(`${base}/api/labs/${shared.name}/nodes/fw/ruleset`, {
      method: "POST",
      headers: { authorization: `Bearer ${tokenA}`, "content-type": "application/json" },
      body: JSON.stringify({ text: "iptables -P FORWARD DROP\n" }),
    });
    expect(load.status).toBe(403);
    // The page with the lab's token shows that lab only; the class overview stays hidden.
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    await page.goto(`${base}/#token=${tokenA}`);
    await page.waitForSelector("#nodes tbody tr");
    expect(await page.locator("#lab option").allTextContents()).toEqual(["mini (engine default)"]);
    expect(await page.locator("#class-panel").isHidden()).toBe(true);
    await page.close();
  });

  it("a lab's token gets its lab's stream only, and no terminal or trace in another lab", async () => {
    const teacher = await listen(dash.token, 2500, () =>
      Promise.all([
        shared.exec("client", ["ping", "-c", "4", "-i", "0.3", "-W", "1", "10.0.2.80"]),
        a.exec("client", ["ping", "-c", "4", "-i", "0.3", "-W", "1", "10.50.2.80"]),
      ]),
    );
    const labsIn = (msgs: ServerMessage[]) =>
      new Set(
        msgs.flatMap((m) =>
          m.kind === "events"
            ? m.events.flatMap((e) => ("lab" in e && e.lab ? [e.lab] : []))
            : m.kind === "rates"
              ? [m.lab]
              : [],
        ),
      );
    // The teacher sees both labs' traffic: the lab token below must see one of them only.
    expect([...labsIn(teacher)]).toEqual(expect.arrayContaining([shared.name, "mini"]));
    const student = await listen(
      tokenA,
      2500,
      () =>
        Promise.all([
          shared.exec("client", ["ping", "-c", "4", "-i", "0.3", "-W", "1", "10.0.2.80"]),
          a.exec("client", ["ping", "-c", "4", "-i", "0.3", "-W", "1", "10.50.2.80"]),
        ]),
      [
        { kind: "term-open", id: "t1", lab: shared.name, node: "client", cols: 80, rows: 24 },
        { kind: "trace-start", id: "w1", lab: shared.name, node: "fw", match: "-p icmp" },
      ],
    );
    const hello = student.find((m) => m.kind === "hello");
    expect(hello?.kind === "hello" && hello.labs.map((l) => l.name)).toEqual(["mini"]);
    expect([...labsIn(student)]).toEqual(["mini"]);
    expect(student).toContainEqual({
      kind: "term-exit",
      id: "t1",
      reason: `this token does not open lab ${shared.name}`,
    });
    expect(student).toContainEqual({
      kind: "trace-ended",
      id: "w1",
      reason: `this token does not open lab ${shared.name}`,
    });
    expect(student.some((m) => m.kind === "term-output" || m.kind === "walk")).toBe(false);
  });

  it("a revoked token opens nothing, at once", async () => {
    const t = tokens.create("flat");
    expect((await get("/api/labs", t)).status).toBe(200);
    tokens.revoke("flat");
    expect((await get("/api/labs", t)).status).toBe(401);
  });
});
