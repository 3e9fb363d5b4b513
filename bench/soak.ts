/**
 * A soak: SOAK_MINUTES (default 30) of continuous traffic through a firewall that logs it (LOG,
 * NFLOG, conntrack), with a dashboard page connected in headless Chromium the whole time.
 * Prints memory (this process: server and evidence readers) every minute and at the end, and
 * every loss the pipeline reported, and what the page drew. Not part of `npm test`.
 *
 *   SOAK_MINUTES=30 node --import tsx bench/soak.ts
 */
import { chromium } from "playwright-core";
import WebSocket from "ws";
import type { LossEvent } from "../src/evidence/events.ts";
import { connectEngine, startLab } from "../src/index.ts";
import type { ServerMessage } from "../src/server/protocol.ts";
import { serveDashboard } from "../src/server/serve.ts";
import { saveResults } from "./lib.ts";

const MINUTES = Number(process.env.SOAK_MINUTES ?? 30);
const mb = (b: number) => Number((b / 2 ** 20).toFixed(1));
const engine = await connectEngine();
await using lab = await startLab("bench/labs/small.yml", { engine });
await lab.loadRuleset("fw", "bench/labs/events.sh");
const dash = await serveDashboard(engine, { host: "127.0.0.1", port: 0 });
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu"],
});
const page = await browser.newPage();
await page.goto(dash.url);
await page.waitForSelector("#nodes tbody tr");
await page.selectOption("#lab", lab.name);

// A second, plain client records what the server says: losses and dropped batches.
const base = dash.url.replace(/\/#token=.*/, "");
const ws = new WebSocket(`${base.replace("http", "ws")}/ws`, ["fwlab.v1", `token.${dash.token}`], {
  origin: base,
});
const losses: LossEvent[] = [];
let events = 0;
let logLines = 0;
let dropped = 0;
ws.on("message", (m) => {
  const msg = JSON.parse(String(m)) as ServerMessage;
  if (msg.kind === "events")
    for (const e of msg.events) {
      events++;
      if (e.kind === "loss") losses.push(e);
      if (e.kind === "packet-log") logLines++;
    }
  if (msg.kind === "dropped") dropped += msg.count;
});

// Traffic: 20 echo requests a second (each logged twice) and 5 short HTTP connections a second.
const seconds = MINUTES * 60;
const traffic = Promise.all([
  lab.exec("client", ["ping", "-q", "-i", "0.05", "-w", String(seconds), "10.60.2.80"]),
  lab.exec("client", [
    "sh",
    "-c",
    `end=$(($(date +%s)+${seconds})); while [ $(date +%s) -lt $end ]; do curl -s -o /dev/null -m 1 http://10.60.2.80/; sleep 0.2; done`,
  ]),
]);
const start = process.memoryUsage();
const samples: { minute: number; rss: number; heap: number }[] = [];
console.log(`soak: ${MINUTES} min; memory at start rss ${mb(start.rss)} MiB, heap ${mb(start.heapUsed)} MiB`);
for (let minute = 1; minute <= MINUTES; minute++) {
  await new Promise((r) => setTimeout(r, 60_000));
  const m = process.memoryUsage();
  samples.push({ minute, rss: mb(m.rss), heap: mb(m.heapUsed) });
  console.log(
    `  minute ${minute}: rss ${mb(m.rss)} MiB, heap ${mb(m.heapUsed)} MiB, ${events} events, ${losses.length} losses, ${dropped} dropped`,
  );
}
const [ping] = await traffic;
const sent = Number(/(\d+) packets transmitted/.exec(ping.stdout)?.[1] ?? 0);
const drawn = await page.evaluate(
  () => (window as unknown as { fwlabLogStats: { rendered: number } }).fwlabLogStats.rendered,
);
const end = process.memoryUsage();
ws.close();
await browser.close();
await dash.close();
console.log(
  `\nmemory: rss ${mb(start.rss)} -> ${mb(end.rss)} MiB, heap ${mb(start.heapUsed)} -> ${mb(end.heapUsed)} MiB`,
);
console.log(
  `echo requests sent ${sent}: log lines expected ${2 * sent} (LOG + NFLOG), delivered ${logLines}; page drew ${drawn}; ${dropped} dropped for a slow page`,
);
console.log(losses.length ? "losses reported:" : "losses reported: none");
for (const l of losses)
  console.log(
    `  ${new Date(l.time).toISOString()} ${l.node ?? ""} ${l.source}: ${l.reason}${l.lost ? ` (${l.lost})` : ""}`,
  );
await saveResults({
  soak_minutes: MINUTES,
  soak_rss_start_mb: mb(start.rss),
  soak_rss_end_mb: mb(end.rss),
  soak_heap_start_mb: mb(start.heapUsed),
  soak_heap_end_mb: mb(end.heapUsed),
  soak_events: events,
  soak_log_lines_expected: 2 * sent,
  soak_log_lines_delivered: logLines,
  soak_losses: losses.length,
  soak_dropped: dropped,
});
