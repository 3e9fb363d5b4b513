/**
 * The dashboard under load, measured on labs of its own:
 *  1. the page at 10,000 echo requests a minute (LOG + NFLOG: 20,000 log lines a minute) in
 *     headless Chromium: lines drawn, how far behind the page draws (p50, p99), page heap;
 *  2. 50 WebSocket clients connected while `fwlab serve` runs the seed pack (started from its
 *     REST API, as the page does): event delivery latency (publish -> client, p50, p99) and the
 *     server process's peak resident memory (rss_mb).
 *
 *   node --import tsx bench/dashboard.ts [pings] [seconds]   (default 10000 in 60)
 */
import { fork, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { relative } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { connectEngine, removeLab, startLab } from "../src/index.ts";
import { findScenarios } from "../src/scenarios/find-scenarios.ts";
import { serveDashboard } from "../src/server/serve.ts";
import { buildCli, saveResults } from "./lib.ts";
import type { ClientsMessage, ClientsReport } from "./ws-clients.ts";

buildCli(); // the bundle bin/fwlab runs, not a stale one's fallback

const PINGS = Number(process.argv[2] ?? 10_000);
const SECONDS = Number(process.argv[3] ?? 60);
const CLIENTS = 50;
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! : Number.NaN;
};
const engine = await connectEngine();

// 1. The page at 10,000 pings a minute.
let page1: { drawn: number; lagP50: number; lagP99: number; heapMb: number; status: string } = {
  drawn: 0,
  lagP50: Number.NaN,
  lagP99: Number.NaN,
  heapMb: 0,
  status: "not run",
};
if (!process.env.BENCH_CLIENTS_ONLY) {
  await using lab = await startLab("bench/labs/small.yml", { engine });
  await lab.loadRuleset("fw", "bench/labs/events.sh");
  const dash = await serveDashboard(engine, { host: "127.0.0.1", port: 0 });
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

// 2. 50 clients while the seed pack runs through the dashboard: the real `fwlab serve` process
// (its peak resident memory is the kernel's VmHWM), scenarios started by POST /api/runs.
const LAB = "benchdash";
await removeLab(engine, LAB);
await startLab("docker-compose.yml", { engine, name: LAB });
const server = spawn("bin/fwlab", ["serve", "--port", "0"], { stdio: ["ignore", "ignore", "pipe"] });
const url = await new Promise<string>((resolve, reject) => {
  let err = "";
  server.stderr.on("data", (b: Buffer) => {
    err += b;
    const m = /dashboard: (\S+)/.exec(err);
    if (m) resolve(m[1]!);
  });
  server.once("exit", () => reject(new Error(`fwlab serve exited: ${err}`)));
});
const token = new URL(url).hash.replace("#token=", "");
const base = url.replace(/\/#token=.*/, "");
const peakRssMb = () =>
  Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${server.pid}/status`, "utf8"))?.[1] ?? 0) / 1024;
const idleRssMb = peakRssMb();
// The clients parse in processes of their own (bench/ws-clients.ts): 50 pages are 50 browsers, and one
// loop parsing every copy of a burst in a row would measure the bench's own queue.
const PROCESSES = 5;
const done = new Map<string, (passed: boolean) => void>();
const results: { file: string; passed: boolean }[] = [];
const threads = await Promise.all(
  Array.from({ length: PROCESSES }, async (_, t) => {
    const args = { base, token, count: CLIENTS / PROCESSES, announceRuns: t === 0 };
    const w = fork(fileURLToPath(new URL("./ws-clients.ts", import.meta.url)), [JSON.stringify(args)], {
      execArgv: ["--import", "tsx"],
    });
    const report = new Promise<ClientsReport>((resolve, reject) => {
      w.on("message", (m: ClientsMessage) => {
        if (m.kind === "run-done") done.get(m.id)?.(m.passed);
        else if (m.kind === "report") resolve(m);
      });
      w.once("error", reject);
    });
    await new Promise<void>((resolve, reject) => {
      w.once("message", (m: ClientsMessage) => (m.kind === "ready" ? resolve() : undefined));
      w.once("error", reject);
    });
    return { w, report };
  }),
);
const t0 = performance.now();
for (const file of findScenarios("scenarios").map((f) => relative(process.cwd(), f))) {
  const r = await fetch(`${base}/api/runs`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ file, lab: LAB }),
  });
  const { id, error } = (await r.json()) as { id?: string; error?: string };
  if (!id) throw new Error(`POST /api/runs ${file}: ${r.status} ${error}`);
  const passed = await new Promise<boolean>((resolve) => done.set(id, resolve));
  results.push({ file, passed });
  if (!passed) {
    const run = (await (
      await fetch(`${base}/api/runs/${id}`, { headers: { authorization: `Bearer ${token}` } })
    ).json()) as {
      error?: string;
      results?: { error?: string; steps: { passed: boolean; name: string; reason?: string }[] }[];
    };
    const why =
      run.error ??
      run.results
        ?.flatMap((r) => [
          r.error ?? "",
          ...r.steps.filter((s) => !s.passed).map((s) => `${s.name}: ${s.reason}`),
        ])
        .filter(Boolean)
        .join("; ");
    console.log(`  ✗ ${file}: ${why}`);
  }
}
const runS = (performance.now() - t0) / 1000;
await new Promise((r) => setTimeout(r, 500));
const peak = peakRssMb();
const reports = await Promise.all(
  threads.map(({ w, report }) => {
    w.send("stop");
    return report;
  }),
);
const byKind = new Map<string, number[]>();
for (const r of reports)
  for (const [kind, xs] of r.byKind) byKind.set(kind, [...(byKind.get(kind) ?? []), ...xs]);
const lat = [...byKind.values()].flat();
const serverLat = reports.flatMap((r) => r.serverMs);
const messages = reports.reduce((n, r) => n + r.messages, 0);
const dropped = reports.reduce((n, r) => n + r.dropped, 0);
server.kill("SIGINT");
await new Promise((r) => server.once("exit", r));
await removeLab(engine, LAB);
await removeLab(engine, "seed001");
console.log(
  `\n${CLIENTS} clients while the dashboard ran the seed pack (${results.length} scenarios, ${results.filter((r) => !r.passed).length} failed, ${runS.toFixed(1)} s):`,
);
console.log(`  ${messages} messages, ${lat.length} events delivered; ${dropped} dropped for slow pages`);
console.log(
  `  delivery latency p50 ${pct(lat, 50)} ms, p99 ${pct(lat, 99)} ms (publish -> client, 100 ms batches); the server's part (publish -> sent) p50 ${pct(serverLat, 50)} ms, p99 ${pct(serverLat, 99)} ms`,
);
for (const [kind, xs] of [...byKind].sort((a, b) => b[1].length - a[1].length))
  console.log(
    `    ${kind.padEnd(24)} ${String(xs.length).padStart(6)} events, p50 ${pct(xs, 50)} ms, p99 ${pct(xs, 99)} ms`,
  );
console.log(
  `  the clients' own event loops (${PROCESSES} processes of ${CLIENTS / PROCESSES}): delay p99 ${Math.max(...reports.map((r) => r.loopP99Ms)).toFixed(0)} ms, max ${Math.max(...reports.map((r) => r.loopMaxMs)).toFixed(0)} ms`,
);
console.log(
  `  fwlab serve memory: ${idleRssMb.toFixed(0)} MiB idle, peak ${peak.toFixed(0)} MiB resident (VmHWM; target <= 200)`,
);
await saveResults({
  ...(process.env.BENCH_CLIENTS_ONLY
    ? {}
    : {
        page_lines_drawn: page1.drawn,
        page_lines_sent: 2 * PINGS,
        page_lag_p99_ms: page1.lagP99,
        page_heap_mb: Number(page1.heapMb.toFixed(1)),
      }),
  ws50_delivery_p50_ms: pct(lat, 50),
  ws50_delivery_p99_ms: pct(lat, 99),
  ws50_server_p99_ms: pct(serverLat, 99),
  ws50_dropped: dropped,
  rss_mb: Number(peak.toFixed(1)),
});
