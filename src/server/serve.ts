import { readFile } from "node:fs/promises";
import { createServer as createHttp, type Server } from "node:http";
import { createServer as createHttps } from "node:https";
import { hostname } from "node:os";
import { conntrackTable } from "../evidence/conntrack-source.ts";
import { conntrackStats } from "../evidence/conntrack-stats.ts";
import { parseCounters } from "../evidence/counters.ts";
import { EventBus } from "../evidence/event-bus.ts";
import { watchKernelLog } from "../evidence/kernel-log-source.ts";
import { StartedLab } from "../lab/started-lab.ts";
import type { Engine } from "../runtime/engine.ts";
import { every } from "../util/every.ts";
import { allowedHosts, newToken, tokenMatches } from "./auth.ts";
import { Coalescer } from "./coalescer.ts";
import { httpApi } from "./http-api.ts";
import { LabFollower } from "./lab-follower.ts";
import { labSummaries } from "./lab-summaries.ts";
import { type Access, LabTokens } from "./lab-tokens.ts";
import { LiveTraces } from "./live-traces.ts";
import { NflogForWorker } from "./nflog-for-worker.ts";
import { pageAssets } from "./page-bundle.ts";
import { ScenarioRuns } from "./scenario-runs.ts";
import { Terminals } from "./terminals.ts";
import { wsServer } from "./ws-server.ts";

export interface Dashboard {
  /** The page's address, with the token in its fragment (never sent in a request). */
  readonly url: string;
  readonly token: string;
  /** Whether the server speaks HTTPS. */
  readonly tls: boolean;
  close(): Promise<void>;
}

export interface ServeOptions {
  readonly host: string;
  readonly port: number;
  /** PEM files: with both, the dashboard speaks HTTPS. */
  readonly tlsCert?: string;
  readonly tlsKey?: string;
}

/**
 * `fwlab serve`: the page (web/), a small REST API and the typed event stream over a WebSocket.
 * Every API request and WebSocket needs the token printed at start (in a header, never a URL),
 * every request must name this server in its Host header, and WebSockets must come from the
 * page's own origin (see auth.ts). Evidence of every running lab is followed and coalesced for
 * the browser; scenario runs go on in processes of their own.
 */
export async function serveDashboard(engine: Engine, opts: ServeOptions): Promise<Dashboard> {
  const token = newToken();
  const hosts = allowedHosts(opts.host, hostname());
  const bus = new EventBus(50_000);
  const coalescer = new Coalescer();
  bus.subscribe((e) => coalescer.add(e));
  const notice = (what: string) => (err: unknown) =>
    bus.publish({
      kind: "notice",
      level: "warn",
      message: `${what}: ${(err as Error).message}`,
      time: Date.now(),
    });
  const kernel = await watchKernelLog(engine, bus);
  const labs = new LabFollower(engine, bus);
  await labs.refresh().catch(notice("following the labs"));
  // A multi-host lab's LOG lines are in its other hosts' kernel logs (when they have their own).
  const followKernels = () =>
    Promise.all([...labs.labs().values()].map((l) => kernel.follow(l.engines.values()))).catch(
      notice("following the kernel logs of the labs' hosts"),
    );
  await followKernels();
  // send() is the WebSocket server's, made below; runs only call it once a request came.
  const runs = new ScenarioRuns(engine, (m) => send(m), {
    nflogFor: (to) =>
      new NflogForWorker(
        bus,
        async (name) => labs.labs().get(name) ?? (await StartedLab.attach(engine, name)),
        to,
      ),
    publish: (e) => bus.publish(e),
  });
  // The token printed at start opens every lab (the teacher's); `fwlab token create LAB` one lab each.
  const labTokens = new LabTokens();
  const authorize = (given: string | undefined): Access | undefined => {
    if (!given) return undefined;
    if (tokenMatches(token, given)) return { all: true };
    try {
      const lab = labTokens.labOf(given);
      return lab ? { all: false, lab } : undefined;
    } catch (err) {
      // A token file that cannot be read opens nothing, and the teacher is told why.
      notice("reading the lab tokens")(err);
      return undefined;
    }
  };
  const app = httpApi({
    engine,
    authorize,
    hosts,
    runs,
    page: await pageAssets(),
    follow: () => labs.refresh(),
  });
  const tls = !!(opts.tlsCert && opts.tlsKey);
  const server: Server = tls
    ? createHttps({ cert: await readFile(opts.tlsCert!), key: await readFile(opts.tlsKey!) }, app)
    : createHttp(app);
  // A client that breaks off mid-request ends only its own request.
  server.on("clientError", (_err, socket) => {
    if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
    else socket.destroy();
  });
  const terminals = new Terminals(engine);
  const traces = new LiveTraces(engine);
  const { wss, send } = wsServer({
    server,
    authorize,
    hosts,
    terminals,
    traces,
    hello: async () => ({ kind: "hello", labs: await labSummaries(engine) }),
    onError: (what, err) => notice(what)(err),
  });

  // Once a second: labs come and go, each node's packets per second, and rule counters so the
  // page can light up the rules being hit. Never two rounds at once.
  const lastPackets = new Map<string, { count: number; at: number }>();
  const stopCounters = every(
    1000,
    async () => {
      if (wss.clients.size === 0) return;
      await labs.refresh();
      await followKernels();
      const now = performance.now();
      for (const [name, l] of labs.labs()) {
        const pps: Record<string, number> = {};
        for (const n of l.nodes) {
          const count = await l.packets(n.name).catch(() => undefined);
          const last = lastPackets.get(`${name}/${n.name}`);
          if (count === undefined) continue;
          lastPackets.set(`${name}/${n.name}`, { count, at: now });
          if (last) pps[n.name] = Math.round(((count - last.count) * 1000) / (now - last.at));
        }
        send({ kind: "rates", lab: name, pps });
        for (const n of l.nodes.filter((x) => x.firewall)) {
          const [r, stats] = await Promise.all([
            l.exec(n.name, ["fwlab-ruleset", "save"]),
            conntrackStats(l, n.name).catch(
              (err: Error) => void notice(`[${n.name}] conntrack numbers`)(err),
            ),
          ]);
          if (stats) send({ kind: "conntrack-stats", stats });
          bus.publish({
            kind: "counters",
            lab: name,
            node: n.name,
            tables: parseCounters(r.stdout),
            time: Date.now(),
          });
        }
      }
    },
    notice("counters and packet rates"),
  );
  // Every 100 ms, what came: sent at once. A node whose conntrack changed gets its table read
  // (one read in flight per node) and sent when it is there: the batch never waits for a read.
  const reading = new Set<string>();
  const stopFlush = every(
    100,
    () => {
      const { events, tables, dropped } = coalescer.flush(Date.now());
      if (dropped) send({ kind: "dropped", count: dropped, reason: "more events than a page can show" });
      if (events.length) send({ kind: "events", events, sent: Date.now() });
      for (const key of tables) {
        const [l, n] = key.split("/") as [string, string];
        const followed = labs.labs().get(l);
        if (!followed || reading.has(key)) continue;
        reading.add(key);
        conntrackTable(followed, n)
          .then(
            (t) => send({ kind: "events", events: [t], sent: Date.now() }),
            notice(`[${n}] conntrack table`),
          )
          .finally(() => reading.delete(key));
      }
    },
    notice("event stream"),
  );

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as { port: number };
  const shownHost =
    opts.host === "0.0.0.0" ? "127.0.0.1" : opts.host.includes(":") ? `[${opts.host}]` : opts.host;
  return {
    url: `${tls ? "https" : "http"}://${shownHost}:${address.port}/#token=${token}`,
    token,
    tls,
    // Each step has 10 s: a stream an engine never ends must not keep `serve` from exiting
    // (Ctrl-C), and what did not finish, or failed, is said, not hidden.
    close: async () => {
      stopFlush();
      stopCounters();
      await bounded("the scenario runs", runs.close());
      await Promise.all([
        bounded("the terminals", terminals.close()),
        bounded("the packet traces", traces.close()),
      ]);
      for (const ws of wss.clients) ws.terminate();
      const closed = new Promise((r) => server.close(r));
      server.closeAllConnections();
      await bounded("the HTTP server", closed);
      await Promise.all([
        bounded("the lab followers", labs.stop()),
        bounded("the kernel log", kernel.stop()),
      ]);
    },
  };
}

/** Waits for a closing step up to 10 s; past that, or when it fails, warns (FWLAB_LEFT) and goes on. */
async function bounded(what: string, step: Promise<unknown>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<string>((r) => {
    timer = setTimeout(() => r("did not stop within 10 s; exiting without it"), 10_000);
  });
  const r = await Promise.race([
    step.then(
      () => undefined,
      (err: Error) => `failed to stop: ${err.message.split("\n")[0]}`,
    ),
    late,
  ]);
  clearTimeout(timer);
  if (r) process.emitWarning(`fwlab serve: ${what} ${r}`, { code: "FWLAB_LEFT" });
}
