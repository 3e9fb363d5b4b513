import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join, relative } from "node:path";
import express, { type NextFunction, type Request, type Response } from "express";
import { z } from "zod";
import { conntrackTable } from "../evidence/conntrack-source.ts";
import { parseCounters } from "../evidence/counters.ts";
import { StartedLab } from "../lab/started-lab.ts";
import type { Engine } from "../runtime/engine.ts";
import { findScenarios } from "../scenarios/find-scenarios.ts";
import { projectRoot } from "../util/project-root.ts";
import { bearerToken, hostAllowed, SECURITY_HEADERS } from "./auth.ts";
import { labSummaries } from "./lab-summaries.ts";
import { type Access, canSee } from "./lab-tokens.ts";
import type { PageAssets } from "./page-bundle.ts";
import type { RulesetLoaded } from "./protocol.ts";
import { runBody, type ScenarioRuns } from "./scenario-runs.ts";

const rulesetBody = z.strictObject({
  text: z
    .string()
    .min(1)
    .max(4 * 1024 * 1024),
  backend: z.enum(["iptables-nft", "iptables-legacy", "nft"]).optional(),
});

/** An error the API answers with: a status and one line, never a stack or a path of ours. */
class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The dashboard's HTTP side: the page (web/ and its libraries) and the REST API. Every request
 * must name this server in its Host header; every API request must carry the token, checked
 * before its body is read; every answer carries the security headers.
 */
export function httpApi(opts: {
  engine: Engine;
  /** What a request's token opens, or undefined for no (or a wrong) token. */
  authorize(token: string | undefined): Access | undefined;
  hosts: ReadonlySet<string>;
  runs: ScenarioRuns;
  /** The page's code and style sheets (pageAssets()). */
  page: PageAssets;
  /** Labs followed now (attached once: requests do not list containers each time). */
  follow(): Promise<void>;
}): express.Express {
  const { engine, runs } = opts;
  const app = express();
  app.disable("x-powered-by");
  app.disable("etag");
  app.use((req: Request, res: Response, next: NextFunction) => {
    res.set(SECURITY_HEADERS);
    if (!hostAllowed(req.headers.host, opts.hosts))
      return void res.status(421).json({ error: "this server does not answer to that host name" });
    next();
  });
  app.use("/api", (req: Request, res: Response, next: NextFunction) => {
    const access = opts.authorize(bearerToken(req.headers));
    if (!access)
      return void res.status(401).json({ error: "missing or wrong token (Authorization: Bearer)" });
    res.locals.access = access;
    next();
  });
  // A lab's token opens that lab only: any other is refused before it is looked at.
  app.use("/api/labs/:lab", (req: Request, res: Response, next: NextFunction) => {
    if (!canSee(res.locals.access as Access, String(req.params.lab)))
      return void res.status(403).json({ error: "this token does not open that lab" });
    next();
  });
  app.use("/api", express.json({ limit: "5mb" }));
  const lab = (name: string) => StartedLab.attach(engine, name);
  const wrap = (fn: (req: Request, res: Response) => Promise<unknown>) => (req: Request, res: Response) =>
    fn(req, res).catch((err: Error & { exitCode?: number; status?: number }) =>
      res.status(err.status ?? (err.exitCode === 2 ? 400 : 500)).json({ error: err.message.split("\n")[0] }),
    );

  app.get(
    "/api/labs",
    wrap(async (_req, res) => {
      await opts.follow();
      const access = res.locals.access as Access;
      res.json((await labSummaries(engine)).filter((l) => canSee(access, l.name)));
    }),
  );
  app.get(
    "/api/labs/:lab/nodes/:node/rules",
    wrap(async (req, res) => {
      const l = await lab(String(req.params.lab));
      const node = String(req.params.node);
      const [listing, save] = await Promise.all([l.rules(node), l.exec(node, ["fwlab-ruleset", "save"])]);
      res.json({ listing, tables: parseCounters(save.stdout) });
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
      if (!body.success) throw new ApiError(400, body.error.issues[0]!.message);
      const dir = await mkdtemp(join(tmpdir(), "fwlab-upload-"));
      try {
        const file = join(dir, body.data.text.trimStart().startsWith("table") ? "ruleset.nft" : "ruleset");
        await writeFile(file, body.data.text);
        const r = await (await lab(String(req.params.lab))).loadRuleset(String(req.params.node), file, {
          backend: body.data.backend,
        });
        const loaded: RulesetLoaded = {
          loaded: r.rules,
          format: r.format,
          backend: r.backend,
          notes: r.notes,
        };
        res.json(loaded);
      } catch (err) {
        // The message names the upload's temporary file: say "ruleset" instead.
        const message = (err as Error).message
          .split(dir)
          .join("ruleset")
          .replace(/ruleset\/ruleset(\.nft)?/g, "ruleset");
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
      if (!body.success) throw new ApiError(400, `body: ${body.error.issues[0]!.message}`);
      const access = res.locals.access as Access;
      res.status(202).json({ id: await runs.start(body.data, (lab) => canSee(access, lab), access.all) });
    }),
  );
  // Another lab's run is no run at all to a lab's token.
  app.get("/api/runs/:id", (req, res) => {
    const run = runs.get(String(req.params.id));
    if (!run || !canSee(res.locals.access as Access, run.lab))
      return void res.status(404).json({ error: "no such run" });
    res.json(run);
  });
  app.get("/api/runs/:id/bundle", (req, res) => {
    const run = runs.get(String(req.params.id));
    const file =
      run && canSee(res.locals.access as Access, run.lab)
        ? runs.bundleFile(String(req.params.id), String(req.query.path ?? ""))
        : undefined;
    if (!file) return void res.status(404).json({ error: "no such bundle file in this run" });
    // A download, never a page of this origin: a bundle holds what lab nodes wrote.
    res.sendFile(file, {
      headers: {
        "content-type": file.endsWith(".pcap") ? "application/vnd.tcpdump.pcap" : "text/plain; charset=utf-8",
        "content-disposition": `attachment; filename="${basename(file).replace(/[^\w.-]/g, "_")}"`,
      },
    });
  });
  app.use("/api", (_req, res) => void res.status(404).json({ error: "no such API" }));
  // The page's code and its libraries' style sheets (page-bundle.ts), from memory.
  for (const [path, text] of Object.entries(opts.page))
    app.get(
      path,
      (_req: Request, res: Response) =>
        void res.type(path.endsWith(".js") ? "text/javascript" : "text/css").send(text),
    );
  // The page itself: its HTML and style sheet, nothing else of web/ (its sources are bundled).
  for (const [path, file] of [
    ["/", "index.html"],
    ["/index.html", "index.html"],
    ["/style.css", "style.css"],
  ] as const)
    app.get(path, (_req: Request, res: Response) => void res.sendFile(join(projectRoot(), "web", file)));
  app.use((_req: Request, res: Response) => void res.status(404).json({ error: "not found" }));
  // Malformed JSON, oversized bodies, anything thrown: a status and one line, no stack.
  app.use(
    (err: Error & { status?: number; type?: string }, _req: Request, res: Response, _next: NextFunction) => {
      const status = err.status && err.status >= 400 && err.status < 500 ? err.status : 500;
      const message =
        err.type === "entity.parse.failed"
          ? "the body is not JSON"
          : err.type === "entity.too.large"
            ? "the body is too large"
            : status === 500
              ? "internal error"
              : err.message.split("\n")[0];
      if (!res.headersSent) res.status(status).json({ error: message });
    },
  );
  return app;
}
