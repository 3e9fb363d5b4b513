import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import express, { type NextFunction, type Request, type Response } from "express";
import { WebSocketServer } from "ws";
import { z } from "zod";
import { conntrackTable, watchConntrack } from "../evidence/conntrack-source.ts";
import { EventBus } from "../evidence/event-bus.ts";
import { watchKernelLog } from "../evidence/kernel-log-source.ts";
import { type NflogWatch, watchNflog } from "../evidence/nflog-source.ts";
import { parseSave } from "../firewall/parse-save.ts";
import { labNodes, listLabs } from "../lab/find-lab.ts";
import { StartedLab } from "../lab/started-lab.ts";
import type { DockerRuntime } from "../runtime/docker-runtime.ts";
import { findScenarios } from "../scenarios/find-scenarios.ts";
import { every } from "../util/every.ts";
import { projectRoot } from "../util/project-root.ts";
import { newToken, originAllowed, tokenMatches, tokenOf } from "./auth.ts";
import { Coalescer } from "./coalescer.ts";
import { clientMessage, type ServerMessage } from "./protocol.ts";
import { runBody, ScenarioRuns } from "./scenario-runs.ts";
import { Terminals } from "./terminals.ts";

export interface Dashboard {
  readonly url: string;
  readonly token: string;
  close(): Promise<void>;
}

const rulesetBody = z.strictObject({
  text: z
    .string()
    .min(1)
    .max(4 * 1024 * 1024),
  backend: z.enum(["iptables-nft", "iptables-legacy", "nft"]).optional(),
});

/**
 * `fwlab serve`: the page (web/), a small REST API and the typed event stream over a WebSocket.
 * Every API request and WebSocket needs the token printed at start; WebSockets also need the
 * page's own Origin. Evidence of every running lab is followed and coalesced for the browser.
 */
export async function serveDashboard(
  runtime: DockerRuntime,
  opts: { host: string; port: number },
): Promise<Dashboard> {
  const token = newToken();
  const bus = new EventBus(50_000);
  const coalescer = new Coalescer();
  bus.subscribe((e) => coalescer.add(e));
  const watchers: { stop(): Promise<void> }[] = [await watchKernelLog(runtime, bus)];
  // Labs whose evidence is followed, attached once: the timers below must not list containers
  // several times a second. A lab's NFLOG listeners are lent to a scenario run while it runs.
  const watched = new Map<string, StartedLab>();
  const nflog = new Map<string, NflogWatch[]>();
  const lent = new Set<string>();
  const followNflog = async (lab: StartedLab) => {
    if (nflog.has(lab.name) || lent.has(lab.name)) return;
    const firewalls = lab.nodes.filter((x) => x.firewall);
    nflog.set(lab.name, await Promise.all(firewalls.map((n) => watchNflog(lab, n.name, bus))));
  };
  const followLabs = async () => {
    for (const [name, containers] of await listLabs(runtime)) {
      if (watched.has(name) || containers.some((c) => c.state !== "running")) continue;
      const lab = await StartedLab.attach(runtime, name);
      watched.set(name, lab);
      for (const n of lab.nodes.filter((x) => x.firewall))
        watchers.push(await watchConntrack(lab, n.name, bus));
      await followNflog(lab);
    }
  };
  await followLabs().catch(() => {});

  const app = express();
  app.use(express.json({ limit: "5mb" }));
  app.use("/api", (req: Request, res: Response, next: NextFunction) => {
    if (!tokenMatches(token, tokenOf(req.headers, req.url)))
      return void res.status(401).json({ error: "missing or wrong token" });
    next();
  });
  const lab = async (name: string) => StartedLab.attach(runtime, name);
  // send() is defined with the WebSocket server below; runs only call it once a request came.
  const runs = new ScenarioRuns(runtime, (m) => send(m), {
    lend: async (lab) => {
      lent.add(lab);
      await Promise.all((nflog.get(lab) ?? []).map((w) => w.stop()));
      nflog.delete(lab);
    },
    takeBack: async (lab) => {
      lent.delete(lab);
      const l = watched.get(lab);
      if (l) await followNflog(l);
    },
    publish: (e) => bus.publish(e),
  });
  const wrap = (fn: (req: Request, res: Response) => Promise<unknown>) => (req: Request, res: Response) =>
    fn(req, res).catch((err: Error & { exitCode?: number }) =>
      res.status(err.exitCode === 2 ? 400 : 500).json({ error: err.message }),
    );

  app.get(
    "/api/labs",
    wrap(async (_req, res) => {
      await followLabs();
      const labs = await Promise.all(
        [...(await listLabs(runtime)).keys()].map(async (name) => ({
          name,
          nodes: await labNodes(runtime, name),
        })),
      );
      res.json(labs);
    }),
  );
  app.get(
    "/api/labs/:lab/nodes/:node/rules",
    wrap(async (req, res) => {
      const l = await lab(String(req.params.lab));
      const node = String(req.params.node);
      const [listing, save] = await Promise.all([l.rules(node), l.exec(node, ["fwlab-ruleset", "save"])]);
      res.json({ listing, tables: parseSave(save.stdout) });
    }),
  );
  app.get(
    "/api/labs/:lab/nodes/:node/conntrack",
    wrap(async (req, res) =>
      res.json(await conntrackTable(await lab(String(req.params.lab)), String(req.params.node))),
    ),
  );
  app.post(
    "/api/labs/:lab/nodes/:node/ruleset",
    wrap(async (req, res) => {
      const body = rulesetBody.safeParse(req.body);
      if (!body.success) return void res.status(400).json({ error: body.error.issues[0]!.message });
      const dir = await mkdtemp(join(tmpdir(), "fwlab-upload-"));
      try {
        const file = join(dir, body.data.text.trimStart().startsWith("table") ? "ruleset.nft" : "ruleset");
        await writeFile(file, body.data.text);
        const r = await (await lab(String(req.params.lab))).loadRuleset(String(req.params.node), file, {
          backend: body.data.backend,
        });
        res.json({ loaded: r.rules, format: r.format, backend: r.backend });
      } catch (err) {
        const message = (err as Error).message;
        res
          .status(400)
          .json({ error: message, line: Number(/ line (\d+):/.exec(message)?.[1]) || undefined });
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }),
  );
  app.get(
    "/api/scenarios",
    wrap(async (_req, res) =>
      res.json(findScenarios(join(projectRoot(), "scenarios")).map((f) => relative(projectRoot(), f))),
    ),
  );
  app.post(
    "/api/runs",
    wrap(async (req, res) => {
      const body = runBody.safeParse(req.body);
      if (!body.success)
        return void res.status(400).json({ error: `body: ${body.error.issues[0]!.message}` });
      try {
        res.status(202).json({ id: await runs.start(body.data) });
      } catch (err) {
        const e = err as Error & { status?: number; exitCode?: number };
        res.status(e.status ?? (e.exitCode === 2 ? 400 : 500)).json({ error: e.message });
      }
    }),
  );
  app.get("/api/runs/:id", (req, res) => {
    const run = runs.get(String(req.params.id));
    if (!run) return void res.status(404).json({ error: "no such run" });
    res.json(run);
  });
  app.get("/api/runs/:id/bundle", (req, res) => {
    const file = runs.bundleFile(String(req.params.id), String(req.query.path ?? ""));
    if (!file) return void res.status(404).json({ error: "no such bundle file in this run" });
    res.sendFile(file, {
      headers: {
        "content-type": file.endsWith(".pcap") ? "application/vnd.tcpdump.pcap" : "text/plain; charset=utf-8",
      },
    });
  });
  app.use(express.static(join(projectRoot(), "web")));
  // The page's libraries, served from the installed packages (no build step): cytoscape draws
  // the topology, xterm.js the terminal.
  app.use("/vendor", express.static(join(projectRoot(), "node_modules/cytoscape/dist")));
  app.use("/vendor/xterm", express.static(join(projectRoot(), "node_modules/@xterm/xterm")));

  const server: Server = createServer(app);
  const terminals = new Terminals(runtime);
  const wss = new WebSocketServer({ noServer: true });
  server.on("upgrade", (req, socket, head) => {
    if (
      !tokenMatches(token, tokenOf(req.headers, req.url ?? "")) ||
      !originAllowed(req.headers.origin, req.headers.host)
    ) {
      socket.end("HTTP/1.1 403 Forbidden\r\n\r\n");
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit("connection", ws));
  });
  const send = (msg: ServerMessage) => {
    const text = JSON.stringify(msg);
    for (const ws of wss.clients) {
      // A page that cannot keep up loses batches, and is told so.
      if (ws.bufferedAmount > 8 * 1024 * 1024)
        ws.send(JSON.stringify({ kind: "dropped", count: 1, reason: "the page fell behind" }));
      else ws.send(text);
    }
  };
  wss.on("connection", async (ws) => {
    ws.on("message", async (data) => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(String(data));
      } catch {
        return void ws.send(JSON.stringify({ kind: "error", reason: "not JSON" } satisfies ServerMessage));
      }
      const msg = clientMessage.safeParse(parsed);
      if (!msg.success) {
        const issue = msg.error.issues[0]!;
        return void ws.send(
          JSON.stringify({
            kind: "error",
            reason: `${issue.path.join(".") || "message"}: ${issue.message}`,
          } satisfies ServerMessage),
        );
      }
      await terminals.handle(ws, msg.data);
    });
    ws.on("close", () => void terminals.close(ws));
    const labs = await Promise.all(
      [...(await listLabs(runtime)).keys()].map(async (name) => ({
        name,
        nodes: await labNodes(runtime, name),
      })),
    );
    ws.send(JSON.stringify({ kind: "hello", labs } satisfies ServerMessage));
  });
  // Once a second: each node's packets per second, and rule counters so the page can light up
  // the rules being hit.
  const lastPackets = new Map<string, { count: number; at: number }>();
  const noticeOf = (what: string) => (err: unknown) =>
    bus.publish({
      kind: "notice",
      level: "warn",
      message: `${what}: ${(err as Error).message}`,
      time: Date.now(),
    });
  const stopCounters = every(
    1000,
    async () => {
      if (wss.clients.size === 0) return;
      await followLabs().catch(() => {}); // labs started since (a scenario run's own lab)
      const now = performance.now();
      for (const [name, l] of watched) {
        const pps: Record<string, number> = {};
        for (const n of l.nodes) {
          const count = await l.packets(n.name).catch(() => undefined);
          const last = lastPackets.get(`${name}/${n.name}`);
          if (count === undefined) continue;
          lastPackets.set(`${name}/${n.name}`, { count, at: now });
          if (last) pps[n.name] = Math.round(((count - last.count) * 1000) / (now - last.at));
        }
        send({ kind: "rates", lab: name, pps });
      }
      for (const [name, l] of watched) {
        for (const n of l.nodes.filter((x) => x.firewall)) {
          const r = await l.exec(n.name, ["fwlab-ruleset", "save"]).catch(() => undefined);
          if (r)
            bus.publish({
              kind: "counters",
              lab: name,
              node: n.name,
              tables: parseSave(r.stdout),
              time: Date.now(),
            });
        }
      }
    },
    noticeOf("counters and packet rates"),
  );
  // Every 100 ms, what came: sent at once. A node whose conntrack changed gets its table read
  // (one read in flight per node) and sent when it is there: the batch never waits for a read.
  const reading = new Set<string>();
  const stopFlush = every(
    100,
    () => {
      const { events, tables, dropped } = coalescer.flush(Date.now());
      if (dropped) send({ kind: "dropped", count: dropped, reason: "more events than a page can show" });
      if (events.length) send({ kind: "events", events });
      for (const key of tables) {
        const [l, n] = key.split("/") as [string, string];
        const followed = watched.get(l);
        if (!followed || reading.has(key)) continue;
        reading.add(key);
        conntrackTable(followed, n)
          .then((t) => send({ kind: "events", events: [t] }), noticeOf(`[${n}] conntrack table`))
          .finally(() => reading.delete(key));
      }
    },
    noticeOf("event stream"),
  );

  await new Promise<void>((resolve) => server.listen(opts.port, opts.host, resolve));
  const address = server.address() as { port: number };
  const shownHost = opts.host === "0.0.0.0" ? "127.0.0.1" : opts.host;
  return {
    url: `http://${shownHost}:${address.port}/?token=${token}`,
    token,
    close: async () => {
      stopFlush();
      stopCounters();
      await runs.close();
      await terminals.close();
      for (const ws of wss.clients) ws.terminate();
      await new Promise((r) => server.close(r));
      await Promise.all([...watchers, ...[...nflog.values()].flat()].map((w) => w.stop().catch(() => {})));
    },
  };
}
