import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isNotFound } from "../../src/runtime/engine-errors.ts";
import { EngineHttp, EngineHttpError } from "../../src/runtime/engine-http.ts";
import { byName } from "../../src/util/by-name.ts";

// An engine API on a unix socket, as dockerd's: answers what it was asked, as JSON.
let dir: string;
let server: Server;
const asked: string[] = [];
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "fwlab-engine-http-"));
  server = createServer((req, res) => {
    asked.push(req.url ?? "");
    if (req.url === "/containers/nosuch/json") {
      res.writeHead(404, { "content-type": "application/json" });
      return res.end(JSON.stringify({ message: "No such container: nosuch" }));
    }
    if (req.url === "/broken") {
      res.writeHead(500);
      return res.end("plain text trouble");
    }
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ url: req.url, method: req.method }));
  });
  await new Promise<void>((r) => server.listen(join(dir, "docker.sock"), r));
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

describe("EngineHttp: the read-only engine calls without dockerode", () => {
  it("GETs over the engine's unix socket, with the query encoded as dockerode would", async () => {
    const http = EngineHttp.for({ socketPath: join(dir, "docker.sock") })!;
    const filters = JSON.stringify({ label: ["fwlab.lab=a b"] });
    const r = await http.json<{ url: string; method: string }>("/containers/json", {
      all: true,
      filters,
      tail: undefined,
    });
    expect(r.method).toBe("GET");
    const url = new URL(r.url, "http://x");
    expect(url.pathname).toBe("/containers/json");
    expect(url.searchParams.get("all")).toBe("true");
    expect(url.searchParams.get("filters")).toBe(filters);
    expect(url.searchParams.has("tail")).toBe(false);
  });

  it("throws the engine's error answer with its status, which the seam's 404 check reads", async () => {
    const http = EngineHttp.for({ socketPath: join(dir, "docker.sock") })!;
    const err = await http.json("/containers/nosuch/json").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EngineHttpError);
    expect(isNotFound(err)).toBe(true);
    expect((err as Error).message).toBe("(HTTP code 404) No such container: nosuch");
    const plain = await http.get("/broken").catch((e: unknown) => e);
    expect((plain as EngineHttpError).statusCode).toBe(500);
    expect((plain as Error).message).toContain("plain text trouble");
  });

  it("fails like a socket that is not there when the engine is not", async () => {
    const http = EngineHttp.for({ socketPath: join(dir, "gone.sock") })!;
    await expect(http.get("/_ping")).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("is for unix sockets and TCP (with or without TLS), not for ssh:// engines", () => {
    expect(EngineHttp.for({ protocol: "ssh", host: "h", port: 22 })).toBeUndefined();
    expect(EngineHttp.for({ protocol: "http", host: "h", port: 2375 })).toBeInstanceOf(EngineHttp);
    expect(EngineHttp.for({ protocol: "https", host: "h", port: 2376 })).toBeInstanceOf(EngineHttp);
  });
});

describe("byName", () => {
  it("orders by code point, whatever the locale", () => {
    const names = ["web", "fw", "client", "Z", "dns-2", "dns"].map((name) => ({ name }));
    expect(names.sort(byName).map((n) => n.name)).toEqual(["Z", "client", "dns", "dns-2", "fw", "web"]);
  });
});
