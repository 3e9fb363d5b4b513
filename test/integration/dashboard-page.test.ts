import { existsSync, mkdirSync } from "node:fs";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { TraceEvent } from "../../src/evidence/events.ts";
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
    page = await openPage({ width: 1400, height: 1600 });
  });
  // A page of its own for each size: resizing the shared page and back once left headless
  // Chromium drawing no more frames on a starved machine, and every later test of the file failed.
  const openPage = async (viewport: { width: number; height: number }) => {
    const p = await browser.newPage({ viewport });
    await p.goto(dash.url);
    await p.waitForSelector("#nodes tbody tr");
    await p.selectOption("#lab", lab.name);
    return p;
  };
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
    // A node's packets per second, on its label and in the table, while it sends. Two or more:
    // a link is drawn busy from 2 pkt/s (the first second of pings may show 1, CI once did).
    const pinging = lab.exec("client", ["ping", "-c", "15", "-i", "0.2", "-W", "1", "10.0.2.80"]);
    await page.waitForFunction(
      () => Number(document.querySelector('#nodes tr[data-node="client"]')?.children[4]?.textContent) >= 2,
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
    // Its link carries packets: drawn thicker than the links of nodes that send nothing.
    const width = (id: string) =>
      page.evaluate(
        (id) =>
          Number.parseFloat(
            (
              window as unknown as {
                fwlabGraph: { getElementById(id: string): { style(k: string): string } };
              }
            ).fwlabGraph
              .getElementById(id)
              .style("width"),
          ),
        id,
      );
    const widths = await Promise.all(
      lab.nodes.flatMap((n) => Object.keys(n.addresses).map((net) => width(`${n.name}-${net}`))),
    );
    expect(await width("client-lan")).toBeGreaterThan(Math.min(...widths));
    await pinging;
  });

  it("topology: at 1440×900 every label is legible (12 px or more), none overlaps another, all inside the panel", async () => {
    const small = await openPage({ width: 1440, height: 900 });
    try {
      const labels = await small.evaluate(() => {
        type Box = { x1: number; y1: number; x2: number; y2: number };
        type Element = {
          id(): string;
          isNode(): boolean;
          style(k: string): string;
          renderedBoundingBox(o: object): Box;
        };
        const cy = (window as unknown as { fwlabGraph: { zoom(): number; elements(): Element[] } })
          .fwlabGraph;
        const only = { includeNodes: false, includeEdges: false, includeOverlays: false };
        return cy.elements().map((e) => ({
          id: e.id(),
          px: Number.parseFloat(e.style("font-size")) * cy.zoom(),
          box: e.isNode()
            ? e.renderedBoundingBox({ ...only, includeLabels: true })
            : e.renderedBoundingBox({
                ...only,
                includeLabels: true,
                includeMainLabels: false,
                includeSourceLabels: true,
                includeTargetLabels: true,
              }),
        }));
      });
      expect(labels.length).toBe(lab.nodes.length * 2 + 3 + 2); // nodes, networks, one link per address
      for (const l of labels) expect(l.px, `${l.id}'s font size on screen`).toBeGreaterThanOrEqual(12);
      const overlaps = labels.flatMap((a, i) =>
        labels
          .slice(i + 1)
          .filter(
            (b) => a.box.x1 < b.box.x2 && b.box.x1 < a.box.x2 && a.box.y1 < b.box.y2 && b.box.y1 < a.box.y2,
          )
          .map((b) => `${a.id} / ${b.id}`),
      );
      expect(overlaps).toEqual([]);
      // The whole drawing is inside the panel.
      const fits = await small.evaluate(() => {
        const cy = (
          window as unknown as {
            fwlabGraph: {
              extent(): object;
              elements(): { renderedBoundingBox(): { x1: number; y1: number; x2: number; y2: number } };
            };
          }
        ).fwlabGraph;
        const b = cy.elements().renderedBoundingBox();
        const panel = document.getElementById("topology")!.getBoundingClientRect();
        return b.x1 >= 0 && b.y1 >= 0 && b.x2 <= panel.width && b.y2 <= panel.height;
      });
      expect(fits).toBe(true);
      await small.screenshot({ path: `${SHOTS}/topology-1440x900.png` });
    } finally {
      await small.close();
    }
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

  it("walk: a ping's walk lights exactly the chains its trace names, in order; a DNAT'd packet shows its rewrite", async () => {
    const base = new URL(dash.url).origin;
    const headers = { authorization: `Bearer ${dash.token}`, "content-type": "application/json" };
    // Started through the API (as the page's run button does) to read the run's own results after.
    const started = await fetch(`${base}/api/runs`, {
      method: "POST",
      headers,
      body: JSON.stringify({ file: "scenarios/seed-003/walk.scenario.yml", lab: lab.name }),
    });
    const { id } = (await started.json()) as { id: string };
    await page.waitForFunction(
      () => /passed|failed/.test(document.getElementById("run-state")?.textContent ?? ""),
      undefined,
      { timeout: 90_000 },
    );
    expect(await page.locator("#run-state").textContent()).toBe("passed");
    const run = (await (await fetch(`${base}/api/runs/${id}`, { headers })).json()) as {
      results: { steps: { evidence?: { trace?: TraceEvent[] } }[] }[];
    };
    // The echo request's chains as its trace names them: from its first event to fwlab's own
    // "forwarded" chain (a packet id is reused by later packets).
    const trace = run.results[0]!.steps[0]!.evidence?.trace ?? [];
    const start = trace.findIndex((e) => e.node === "fw" && e.packet?.icmpType === 8);
    expect(start).toBeGreaterThanOrEqual(0);
    const own = trace.slice(start).filter((e) => e.packetId === trace[start]!.packetId);
    const end = own.findIndex((e) => e.passed);
    const chains = own
      .slice(0, end < 0 ? undefined : end)
      .map((e) => `${e.hook}/${e.table}`)
      .filter((c, i, all) => c !== all[i - 1]);
    expect(chains).toEqual([
      "PREROUTING/raw",
      "PREROUTING/mangle",
      "PREROUTING/nat",
      "FORWARD/mangle",
      "FORWARD/filter",
      "FORWARD/security",
      "POSTROUTING/mangle",
      "POSTROUTING/nat",
    ]);
    const lit = () =>
      page.evaluate(() =>
        [...document.querySelectorAll<SVGGElement>("#walk-diagram .walk-table.lit")]
          .sort((a, b) => Number(a.dataset.order) - Number(b.dataset.order))
          .map((e) => `${e.dataset.hook}/${e.dataset.table}`),
      );
    const choose = async (pattern: RegExp) => {
      const options = await page
        .locator("#walk-packets option")
        .evaluateAll((os) =>
          os.map((o) => ({ value: (o as HTMLOptionElement).value, text: o.textContent ?? "" })),
        );
      const o = options.find((x) => pattern.test(x.text));
      expect(o, `a packet matching ${pattern} in ${JSON.stringify(options)}`).toBeDefined();
      await page.selectOption("#walk-packets", o!.value);
    };
    await page.locator("#steps li").nth(0).click();
    await page.click("#step-walk");
    await choose(/ICMP 8 10\.0\.1\.10 → 10\.0\.2\.80/);
    expect(await lit()).toEqual(chains);
    expect(await page.locator("#walk-diagram .lit#walk-arrow-route-forward").count()).toBe(1);
    expect(await page.locator("#walk-diagram .lit#walk-arrow-route-input").count()).toBe(0);
    // Stepping back un-lights the last chain; the current one is marked.
    // (the last chain may hold several of the packet's steps: a LOG rule, then the policy)
    for (let i = 0; i < 10 && (await lit()).length === chains.length; i++) await page.click("#walk-prev");
    expect(await lit()).toEqual(chains.slice(0, -1));
    expect(await page.locator("#walk-diagram .walk-table.current").count()).toBe(1);
    expect(await page.locator("#walk-steps li.current").count()).toBe(1);
    await page.click("#walk-next");
    await page.locator("#walk-panel").screenshot({ path: `${SHOTS}/walk-ping-through-fw.png` });

    // The port-forwarded request: rewritten at nat PREROUTING, then FORWARD (not INPUT).
    await page.locator("#steps li").nth(2).click();
    await page.click("#step-walk");
    await choose(/TCP 198\.51\.100\.10:\d+ → 198\.51\.100\.1:8080/);
    expect(await page.locator("#walk-PREROUTING-nat .walk-note").textContent()).toBe("DNAT");
    expect(await page.locator("#walk-PREROUTING-conntrack .walk-note").textContent()).toBe("new");
    expect(await page.locator("#walk-steps").textContent()).toContain(
      "NAT: dst 198.51.100.1:8080 -> 10.0.2.80:80",
    );
    // port-forward.sh has nat and filter tables only: the chains there are, in order.
    expect(await lit()).toEqual(["PREROUTING/nat", "FORWARD/filter", "POSTROUTING/nat"]);
    expect(await page.locator("#walk-diagram .lit#walk-arrow-route-forward").count()).toBe(1);
    await page.locator("#walk-panel").screenshot({ path: `${SHOTS}/walk-port-forward.png` });
  });

  it("walk: a live trace started from the page with a match walks each matching packet", async () => {
    await lab.loadRuleset("fw", "test/fixtures/rulesets/evidence.sh");
    await page.selectOption("#walk-node", "fw");
    await page.fill("#walk-match", "-p icmp --icmp-type echo-request");
    await page.click("#walk-trace");
    await page.waitForFunction(
      () => (document.getElementById("walk-state")?.textContent ?? "").startsWith("tracing"),
      undefined,
      {
        timeout: 15_000,
      },
    );
    await lab.exec("client", ["ping", "-c", "2", "-i", "0.3", "-W", "1", "10.0.2.80"]);
    await page.waitForFunction(
      () => document.querySelectorAll("#walk-packets option").length >= 2,
      undefined,
      {
        timeout: 10_000,
      },
    );
    const options = await page.locator("#walk-packets option").allTextContents();
    // Echo requests only (the match), each its own walk.
    expect(options).toHaveLength(2);
    for (const o of options) expect(o).toMatch(/^fw \w+: ICMP 8 10\.0\.1\.10 → 10\.0\.2\.80 \(accepted\)$/);
    expect(await page.locator("#walk-steps").textContent()).toContain(
      "FORWARD · filter FORWARD #1 → CONTINUE",
    );
    await page.click("#walk-trace");
    await page.waitForFunction(
      () => (document.getElementById("walk-state")?.textContent ?? "") === "trace ended: stopped",
    );
    // The trace rules are gone from the node with it.
    expect((await lab.exec("fw", ["iptables-nft", "-t", "raw", "-S"])).stdout).not.toContain("fwlab-trace");
  });

  it("conntrack over time: the chart climbs during a burst and marks where the table was full (seed 002, opt-in)", async () => {
    type Charts = Record<string, { labels: string[]; data: number[][]; marks: number[] }>;
    const chart = (id: string) =>
      page.evaluate((id) => (window as unknown as { fwlabCharts: Charts }).fwlabCharts[id]!, id);
    await page.waitForFunction(
      () =>
        ((window as unknown as { fwlabCharts?: Charts }).fwlabCharts?.["ct-chart"]?.data[0]?.length ?? 0) > 0,
      undefined,
      { timeout: 10_000 },
    );
    // The seed's table-full experiment, run from the dashboard by the teacher: nf_conntrack_max
    // is lowered to 1000 on the host for its few seconds, then put back.
    const hostMax = (await lab.exec("fw", ["cat", "/proc/sys/net/netfilter/nf_conntrack_max"])).stdout.trim();
    const base = new URL(dash.url).origin;
    const started = await fetch(`${base}/api/runs`, {
      method: "POST",
      headers: { authorization: `Bearer ${dash.token}`, "content-type": "application/json" },
      body: JSON.stringify({
        file: "scenarios/seed-002/table-full.scenario.yml",
        lab: lab.name,
        optIn: true,
      }),
    });
    expect(started.status).toBe(202);
    await page.waitForFunction(
      () => /passed|failed/.test(document.getElementById("run-state")?.textContent ?? ""),
      undefined,
      { timeout: 90_000 },
    );
    expect(await page.locator("#steps li.fail").allTextContents()).toEqual([]);
    expect(await page.locator("#run-state").textContent()).toBe("passed");
    expect((await lab.exec("fw", ["cat", "/proc/sys/net/netfilter/nf_conntrack_max"])).stdout.trim()).toBe(
      hostMax,
    );
    await page.waitForFunction(
      () =>
        ((window as unknown as { fwlabCharts?: Charts }).fwlabCharts?.["ct-chart"]?.marks.length ?? 0) > 0,
      undefined,
      { timeout: 10_000 },
    );
    const c = await chart("ct-chart");
    expect(c.labels).toEqual(["entries", "nf_conntrack_max", "memory KiB"]);
    const [entries, max] = c.data as [number[], number[]];
    // It climbed to the lowered maximum, which the chart drew too.
    expect(max).toContain(1000);
    expect(Math.max(...entries)).toBeGreaterThanOrEqual(990);
    expect(await page.locator("#ct-full .ct-full-mark").first().textContent()).toMatch(
      /^table full at \d\d:\d\d:\d\d: \d+ packets dropped for want of an entry \(\d+ of nf_conntrack_max 1000\)$/,
    );
    expect(await page.locator("#ct-timeouts").textContent()).toMatch(/udp 30.*icmp 30/);
    await page.locator("#conntrack-panel").screenshot({ path: `${SHOTS}/conntrack-table-full.png` });
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
