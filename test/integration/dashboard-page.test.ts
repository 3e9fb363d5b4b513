import { existsSync } from "node:fs";
import { chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DockerRuntime, type StartedLab } from "../../src/index.ts";
import { type Dashboard, serveDashboard } from "../../src/server/serve.ts";
import { OPEN_RULES, sharedLab } from "./shared-lab.ts";

const CHROMIUM = "/usr/bin/chromium";

// The page in a real (headless) browser: it renders what the server streams.
describe("the dashboard page", () => {
  let lab: StartedLab;
  let dash: Dashboard;
  beforeAll(async () => {
    expect(existsSync(CHROMIUM), "chromium is installed by the set-up").toBe(true);
    lab = await sharedLab();
    await lab.loadRuleset("fw", "test/fixtures/rulesets/evidence.sh");
    dash = await serveDashboard(await DockerRuntime.connect(), { host: "127.0.0.1", port: 0 });
  });
  afterAll(async () => {
    await dash?.close();
    await lab.loadRuleset("fw", OPEN_RULES);
  });

  it("shows the topology, live log lines and the conntrack table of the firewall", async () => {
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    try {
      const page = await browser.newPage();
      await page.goto(dash.url);
      await page.waitForSelector("#nodes tbody tr");
      await page.selectOption("#lab", lab.name);
      expect(await page.locator("#nodes tbody tr").count()).toBe(8);
      expect(await page.locator("#topology canvas").count()).toBeGreaterThan(0);
      await page.fill("#f-prefix", "fwd-echo");
      await lab.exec("client", ["ping", "-c", "2", "-i", "0.2", "-W", "1", "10.0.2.80"]);
      await page.waitForFunction(() => document.querySelectorAll("#logs .log").length >= 2, undefined, {
        timeout: 5000,
      });
      expect(await page.locator("#logs .log").first().textContent()).toMatch(
        /fw LOG "fwd-echo" 10\.0\.1\.10 → 10\.0\.2\.80 ICMP/,
      );
      await page.waitForFunction(
        () => (document.getElementById("ct-head")?.textContent ?? "").includes("entries"),
        undefined,
        { timeout: 5000 },
      );
      expect(await page.locator("#rules").textContent()).toContain("Chain FORWARD");
      // Rules being hit light up: keep pinging until a counter rises between two pushes.
      const pinging = lab.exec("client", ["ping", "-c", "12", "-i", "0.2", "-W", "1", "10.0.2.80"]);
      await page.waitForSelector("#rule-counters tr.hit", { timeout: 5000 });
      expect(await page.locator("#rule-counters tr.hit").first().textContent()).toMatch(/filterFORWARD/);
      await pinging;
    } finally {
      await browser.close();
    }
  });
});
