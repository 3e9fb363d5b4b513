/**
 * The dashboard under load, measured on labs of its own:
 *  1. the page at 10,000 echo requests a minute (LOG + NFLOG: 20,000 log lines a minute) in
 *     headless Chromium: lines drawn, how far behind the page draws (p50, p99), page heap;
 *  2. 50 WebSocket clients connected while the seed pack runs (server and runner in this one
 *     process, as `fwlab demo --serve`): event delivery latency (publish -> client, p50, p99)
 *     and this process's peak resident memory.
 *
 *   node --import tsx bench/dashboard.ts [pings] [seconds]   (default 10000 in 60)
 */
import { chromium } from "playwright-core";
import WebSocket from "ws";
import { DockerRuntime, removeLab, startLab } from "../src/index.ts";
import { findScenarios } from "../src/scenarios/find-scenarios.ts";
import { runScenarios } from "../src/scenarios/run-scenarios.ts";
import type { ServerMessage } from "../src/server/protocol.ts";
import { serveDashboard } from "../src/server/serve.ts";
import { saveResults } from "./lib.ts";

const PINGS = Number(process.argv[2] ?? 10_000);
const SECONDS = Number(process.argv[3] ?? 60);
const CLIENTS = 50;
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! : Number.NaN;
};
const runtime = await DockerRuntime.connect();

// 1. The page at 10,000 pings a minute.
let page1: { drawn: number; lagP50: number; lagP99: number; heapMb: number; status: string };
{
  await using lab = await startLab("bench/labs/small.yml", { runtime });
  await lab.loadRuleset("fw", "bench/labs/events.sh");
  const dash = await serveDashboard(runtime, { host: "127.0.0.1", port: 0 });
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu"],
  });
  try {
    const page = await browser.newPage();
    await page.goto(dash.url);
    await page.waitForSelector("#nodes tbody tr");
    await page.selectOption("#lab", lab.name);
    const intervalS = (SECONDS / PINGS).toFixed(4);
    console.log(`page: ${PINGS} echo requests at one per ${intervalS} s (LOG and NFLOG each log them)…`);
    await lab.exec("client", ["ping", "-q", "-i", intervalS, "-c", String(PINGS), "-W", "1", "10.60.2.80"]);
    await new Promise((r) => setTimeout(r, 2000));
    const s = await page.evaluate(() => {
      const st = (window as unknown as { fwlabLogStats: { rendered: number; lags: number[] } }).fwlabLogStats;
      const mem = (performance as unknown as { memory?: { usedJSHeapSize: number } }).memory;
      return {
        rendered: st.rendered,
        lags: st.lags,
        heap: mem?.usedJSHeapSize ?? 0,
        status: document.getElementById("status")?.textContent ?? "",
      };
    });
    page1 = {
      drawn: s.rendered,
      lagP50: pct(s.lags, 50),
      lagP99: pct(s.lags, 99),
      heapMb: s.heap / 2 ** 20,
      status: s.status,
    };
  } finally {
    await browser.close();
    await dash.close();
  }
}
console.log(
  `  drawn ${page1.drawn} of ${2 * PINGS} lines; behind by p50 ${page1.lagP50} ms, p99 ${page1.lagP99} ms; page heap ${page1.heapMb.toFixed(1)} MiB; status "${page1.status}"`,
);

if (process.env.BENCH_PAGE_ONLY) process.exit(0);

// 2. 50 clients while the seed pack runs.
const LAB = "benchdash";
await removeLab(runtime, LAB);
await startLab("docker-compose.yml", { runtime, name: LAB });
let peakRss = process.memoryUsage().rss;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 100);
const dash = await serveDashboard(runtime, { host: "127.0.0.1", port: 0 });
const base = dash.url.replace(/\/\?token=.*/, "");
const lat: number[] = [];
let messages = 0;
let dropped = 0;
const clients = await Promise.all(
  Array.from({ length: CLIENTS }, async () => {
    const ws = new WebSocket(`${base.replace("http", "ws")}/ws?token=${dash.token}`, { origin: base });
    ws.on("message", (m) => {
      const now = Date.now();
      const msg = JSON.parse(String(m)) as ServerMessage;
      messages++;
      if (msg.kind === "events") for (const e of msg.events) lat.push(now - e.time);
      if (msg.kind === "dropped") dropped += msg.count;
    });
    await new Promise((r) => ws.once("open", r));
    return ws;
  }),
);
const rssBefore = process.memoryUsage().rss;
const t0 = performance.now();
const results = await runScenarios(findScenarios("scenarios"), { runtime, labName: LAB });
const runS = (performance.now() - t0) / 1000;
await new Promise((r) => setTimeout(r, 500));
clearInterval(sampler);
for (const ws of clients) ws.close();
await dash.close();
await removeLab(runtime, LAB);
const steps = results.flatMap((r) => r.steps);
const mb = (b: number) => b / 2 ** 20;
console.log(
  `\n${CLIENTS} clients during the seed pack (${steps.length} steps, ${steps.filter((s) => !s.passed).length} failed, ${runS.toFixed(1)} s):`,
);
console.log(`  ${messages} messages, ${lat.length} events delivered; ${dropped} dropped for slow pages`);
console.log(
  `  delivery latency p50 ${pct(lat, 50)} ms, p99 ${pct(lat, 99)} ms (publish -> client, 100 ms batches)`,
);
console.log(
  `  process memory: ${mb(rssBefore).toFixed(0)} MiB with clients connected, peak ${mb(peakRss).toFixed(0)} MiB (target <= 200)`,
);
await saveResults({
  page_lines_drawn: page1.drawn,
  page_lines_sent: 2 * PINGS,
  page_lag_p99_ms: page1.lagP99,
  page_heap_mb: Number(page1.heapMb.toFixed(1)),
  ws50_delivery_p50_ms: pct(lat, 50),
  ws50_delivery_p99_ms: pct(lat, 99),
  ws50_dropped: dropped,
  rss_mb: Number(mb(peakRss).toFixed(1)),
});
