import { existsSync, mkdirSync } from "node:fs";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { connectEngine, type StartedLab } from "../../src/index.ts";
import { type Dashboard, serveDashboard } from "../../src/server/serve.ts";
import { OPEN_RULES, sharedLab } from "./shared-lab.ts";

const CHROMIUM = "/usr/bin/chromium";
const SHOTS = "test-results/screenshots";

// The page in a real (headless) browser against the shared lab: it renders what the server
// streams. Each test leaves a screenshot under test-results/screenshots/.
describe("the dashboard page", () => {
  let lab: StartedLab;
  let dash: Dashboard;
  let browser: Browser;
  let page: Page;
  beforeAll(async () => {
    expect(existsSync(CHROMIUM), "chromium is installed by the set-up").toBe(true);
    mkdirSync(SHOTS, { recursive: true });
    lab = await sharedLab();
    await lab.loadRuleset("fw", "test/fixtures/rulesets/evidence.sh");
    dash = await serveDashboard(await connectEngine(), { host: "127.0.0.1", port: 0 });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    page = await browser.newPage({ viewport: { width: 1400, height: 1600 } });
    await page.goto(dash.url);
    await page.waitForSelector("#nodes tbody tr");
    await page.selectOption("#lab", lab.name);
  });
  afterEach(async (ctx) => {
    await page?.screenshot({ path: `${SHOTS}/${ctx.task.name.replace(/[^\w]+/g, "-")}.png`, fullPage: true });
  });
  afterAll(async () => {
    await browser?.close();
    await dash?.close();
    await lab.loadRuleset("fw", OPEN_RULES);
  });

  it("topology: every node of the default lab is drawn, with its networks", async () => {
    const drawn = await page.evaluate(() =>
      (window as unknown as { fwlabGraph: { nodes(): { id(): string }[] } }).fwlabGraph
        .nodes()
        .map((n) => n.id()),
    );
    expect(drawn.sort()).toEqual([...lab.nodes.map((n) => n.name), "net:dmz", "net:lan", "net:wan"].sort());
    expect(await page.locator("#nodes tbody tr").count()).toBe(lab.nodes.length);
    // A node's packets per second, on its label and in the table, while it sends.
    const pinging = lab.exec("client", ["ping", "-c", "15", "-i", "0.2", "-W", "1", "10.0.2.80"]);
    await page.waitForFunction(
      () => Number(document.querySelector('#nodes tr[data-node="client"]')?.children[4]?.textContent) > 0,
      undefined,
      { timeout: 5000 },
    );
    const label = await page.evaluate(() =>
      (
        window as unknown as { fwlabGraph: { getElementById(id: string): { data(k: string): string } } }
      ).fwlabGraph
        .getElementById("client")
        .data("label"),
    );
    expect(label).toMatch(/^client\nclient\n\d+ pkt\/s$/);
    await pinging;
  });

  it("logs: a ping from the client shows up as a log line within one second", async () => {
    await page.fill("#f-prefix", "fwd-echo");
    await page.waitForTimeout(200);
    const before = await page.locator("#logs .log").count();
    // Every line shown passes the filter, the earlier ones re-drawn with it.
    for (const line of await page.locator("#logs .log").allTextContents())
      expect(line).toContain('"fwd-echo"');
    await lab.exec("client", ["ping", "-c", "1", "-W", "1", "10.0.2.80"]);
    await page.waitForFunction((n) => document.querySelectorAll("#logs .log").length > n, before, {
      timeout: 1000,
    });
    expect(await page.locator("#logs .log").last().textContent()).toMatch(
      /fw LOG "fwd-echo" 10\.0\.1\.10 → 10\.0\.2\.80 ICMP .* ← filter FORWARD #1$/,
    );
    expect(await page.locator("#rules").textContent()).toContain("Chain FORWARD");
    // Rules being hit light up: keep pinging until a counter rises between two pushes.
    const pinging = lab.exec("client", ["ping", "-c", "12", "-i", "0.2", "-W", "1", "10.0.2.80"]);
    await page.waitForSelector("#rule-counters tr.hit", { timeout: 5000 });
    expect(await page.locator("#rule-counters tr.hit").first().textContent()).toMatch(/filterFORWARD/);
    await pinging;
  });

  it("conntrack: the firewall's table sorts by state", async () => {
    // Entries in different states: a closed HTTP connection (TIME_WAIT), an unanswered SYN
    // to an address nobody owns (SYN_SENT) and a ping (no TCP state).
    await lab.exec("client", [
      "sh",
      "-c",
      "curl -s -o /dev/null http://10.0.2.80/; timeout 0.5 bash -c 'echo >/dev/tcp/10.0.2.99/81'; ping -c1 -W1 10.0.2.80; true",
    ]);
    await page.click("#conntrack-panel"); // the view refreshes with the pushed tables
    await page.waitForFunction(
      () => {
        const states = Array.from(document.querySelectorAll("#conntrack tbody tr td:nth-child(4)")).map(
          (td) => td.textContent,
        );
        return states.includes("TIME_WAIT") && states.includes("SYN_SENT");
      },
      undefined,
      { timeout: 5000 },
    );
    await page.click('th[data-sort="state"]');
    const states = await page.locator("#conntrack tbody tr td:nth-child(4)").allTextContents();
    expect(states.length).toBeGreaterThanOrEqual(3);
    expect(states).toEqual([...states].sort((a, b) => a.localeCompare(b)));
  });

  it("scenarios: a seed scenario run from the page ends with every step green", async () => {
    await page.selectOption("#scenario", "scenarios/seed-000/stateless.scenario.yml");
    await page.click("#run");
    await page.waitForFunction(
      () => /passed|failed/.test(document.getElementById("run-state")?.textContent ?? ""),
      undefined,
      {
        timeout: 90_000,
      },
    );
    const total = await page.locator("#steps li").count();
    expect(total).toBeGreaterThan(5);
    expect(await page.locator("#steps li.fail").allTextContents()).toEqual([]);
    expect(await page.locator("#steps li.ok").count()).toBe(total);
    expect(await page.locator("#run-state").textContent()).toBe("passed");
    // A step opens to its evidence: a dropped probe shows the firewall's trace of its packet.
    const dropped = page.locator("#steps li", { hasText: "timeout" }).first();
    await dropped.click();
    const detail = (await page.locator("#step-detail").textContent()) ?? "";
    expect(detail).toContain("packet trace");
    expect(detail).toMatch(/fw \w+ .* filter:INPUT:(policy|\d+) DROP/);
  });

  it("rules: a ruleset with an error is shown with the error at its line", async () => {
    await page.fill(
      "#ruleset",
      "iptables -P FORWARD ACCEPT\niptables -A FORWARD -p icmp -j ACCEPT\niptables -A FORWARD -m conntrack --ctstate RELTAED -j ACCEPT\n",
    );
    await page.click("#load");
    await page.waitForSelector("#ruleset-lines li.err-line", { timeout: 10_000 });
    const lines = await page.locator("#ruleset-lines li").evaluateAll((lis) => lis.map((li) => li.className));
    expect(lines.indexOf("err-line") + 1).toBe(3);
    expect(await page.locator("#ruleset-lines .err-msg").textContent()).toMatch(/line 3: .*RELTAED/);
    expect(await page.locator("#load-result").textContent()).toMatch(/previous ruleset is still active/);
  });

  it("terminal: a shell in a node over the WebSocket", async () => {
    await page.selectOption("#term-node", "client");
    await page.click("#term-open");
    await page.waitForSelector("#terminal .xterm-rows");
    await page.waitForFunction(() =>
      (document.querySelector("#terminal .xterm-rows")?.textContent ?? "").includes("root@client"),
    );
    await page.keyboard.type("ip -4 -o addr show dev lan | cut -d' ' -f7; echo fwlab-term-$((6*7))\r");
    await page.waitForFunction(
      () => (document.querySelector("#terminal .xterm-rows")?.textContent ?? "").includes("fwlab-term-42"),
      undefined,
      {
        timeout: 10_000,
      },
    );
    expect(await page.locator("#terminal .xterm-rows").textContent()).toContain("10.0.1.10/24");
    await page.click("#term-close");
    await page.waitForFunction(() =>
      (document.getElementById("term-state")?.textContent ?? "").startsWith("ended"),
    );
  });
});
