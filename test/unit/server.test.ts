import { afterEach, describe, expect, it } from "vitest";
import { startLab } from "../../src/lab/start-lab.ts";
import type { ServerMessage } from "../../src/server/protocol.ts";
import { type Dashboard, serveDashboard } from "../../src/server/serve.ts";
import { fakeEngine, withImages } from "../support/fake-engine.ts";
import { until } from "../support/until.ts";
import { wsPage } from "../support/ws-page.ts";

// The dashboard server on the fake engine: what it answers, what it does when the engine fails
// under it, and that it never signals a process itself.
let dash: Dashboard | undefined;
afterEach(async () => {
  await dash?.close();
  dash = undefined;
});

const withLab = async () => {
  const engine = fakeEngine();
  withImages(engine, ["fwlab/client:latest", "fwlab/web:latest"]);
  await startLab("test/fixtures/labs/flat.yml", { engine });
  dash = await serveDashboard(engine, { host: "127.0.0.1", port: 0 });
  const url = new URL(dash.url);
  return { engine, base: url.origin, token: dash.token };
};
const page = wsPage;

describe("the dashboard server on the fake engine", () => {
  it("lists the labs with the engine they run on, to the token only", async () => {
    const { base, token } = await withLab();
    expect((await fetch(`${base}/api/labs`)).status).toBe(401);
    const labs = (await (
      await fetch(`${base}/api/labs`, { headers: { authorization: `Bearer ${token}` } })
    ).json()) as {
      name: string;
      engine: string;
      nodes: { name: string }[];
    }[];
    expect(labs).toEqual([expect.objectContaining({ name: "flat", engine: "fake" })]);
    expect(labs[0]!.nodes.map((n) => n.name)).toEqual(["client", "web"]);
    const { ws, got } = await page(base, token);
    expect(await until(() => got.some((m) => m.kind === "hello"))).toBe(true);
    const hello = got.find((m) => m.kind === "hello") as Extract<ServerMessage, { kind: "hello" }>;
    expect(hello.labs.map((l) => [l.name, l.engine])).toEqual([["flat", "fake"]]);
    ws.close();
  });

  it("an engine that fails while pages connect and ask: errors to them, no crash, and it serves again after", async () => {
    const { engine, base, token } = await withLab();
    engine.runtime.down = Object.assign(new Error("connect ECONNREFUSED /var/run/docker.sock"), {
      code: "ECONNREFUSED",
    });
    const { ws, got } = await page(base, token);
    expect(await until(() => got.some((m) => m.kind === "error"))).toBe(true);
    expect(got.find((m) => m.kind === "error")).toMatchObject({
      reason: expect.stringMatching(/labs could not be listed/),
    });
    const r = await fetch(`${base}/api/labs`, { headers: { authorization: `Bearer ${token}` } });
    expect(r.status).toBe(500);
    const body = (await r.json()) as { error: string };
    expect(body.error).toMatch(/ECONNREFUSED/);
    expect(body.error).not.toMatch(/\n|at \S+ \(/); // one line, no stack
    ws.close();
    engine.runtime.down = undefined;
    expect((await fetch(`${base}/api/labs`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(
      200,
    );
  });

  it("a terminal closed by the page is hung up by the host helper", async () => {
    const { engine, base, token } = await withLab();
    const { ws, got } = await page(base, token);
    ws.send(JSON.stringify({ kind: "term-open", id: "t1", lab: "flat", node: "client", cols: 80, rows: 24 }));
    expect(await until(() => got.some((m) => m.kind === "term-output"))).toBe(true); // its prompt
    ws.send(JSON.stringify({ kind: "term-input", id: "t1", data: "ls\r" }));
    expect(await until(() => got.some((m) => m.kind === "term-output" && m.data.includes("ls")))).toBe(true);
    ws.send(JSON.stringify({ kind: "term-close", id: "t1" }));
    expect(
      await until(() =>
        engine.host.commands.some((c) => c.argv[0] === "sh" && /kill -HUP/.test(c.argv[2] ?? "")),
      ),
    ).toBe(true);
    ws.close();
  });
});
