import { type ChildProcess, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import https from "node:https";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { connectEngine, type StartedLab } from "../../src/index.ts";
import type { ServerMessage } from "../../src/server/protocol.ts";
import { type Dashboard, serveDashboard } from "../../src/server/serve.ts";
import { spawnFwlab } from "./cli-helpers.ts";
import { OPEN_RULES, sharedLab } from "./shared-lab.ts";

describe("the dashboard server", () => {
  let lab: StartedLab;
  let dash: Dashboard;
  let base: string;
  beforeAll(async () => {
    lab = await sharedLab();
    await lab.loadRuleset("fw", "test/fixtures/rulesets/evidence.sh");
    dash = await serveDashboard(await connectEngine(), { host: "127.0.0.1", port: 0 });
    base = dash.url.replace(/\/#token=.*/, "");
  });
  afterAll(async () => {
    await dash.close();
    await lab.loadRuleset("fw", OPEN_RULES);
  });
  const auth = () => ({ authorization: `Bearer ${dash.token}`, "content-type": "application/json" });

  it("refuses the API without the token, and serves it with", async () => {
    expect((await fetch(`${base}/api/labs`)).status).toBe(401);
    expect((await fetch(`${base}/api/labs?token=wrong`)).status).toBe(401);
    const labs = await (await fetch(`${base}/api/labs`, { headers: auth() })).json();
    expect(labs.map((l: { name: string }) => l.name)).toContain(lab.name);
    expect((await fetch(`${base}/`)).status).toBe(200); // the page itself
  });

  it("refuses a WebSocket without the token or from another origin", async () => {
    const refused = (url: string, origin: string, protocols: string[] = ["fwlab.v1"]) =>
      new Promise<boolean>((resolve) => {
        const ws = new WebSocket(url, protocols, { origin });
        ws.on("open", () => resolve(false));
        ws.on("error", () => resolve(true));
      });
    const ws = base.replace("http", "ws");
    expect(await refused(`${ws}/ws`, base)).toBe(true);
    expect(await refused(`${ws}/ws`, "http://evil.example", ["fwlab.v1", `token.${dash.token}`])).toBe(true);
    expect(await refused(`${ws}/ws?token=${dash.token}`, base)).toBe(true); // not in the URL any more
    expect(await refused(`${ws}/ws`, base, ["fwlab.v1", `token.${dash.token}`])).toBe(false);
  });

  it("bound beyond loopback: nothing that runs a command in a node answers without the token", async () => {
    const wide = await serveDashboard(await connectEngine(), { host: "0.0.0.0", port: 0 });
    try {
      const ip = Object.values(networkInterfaces())
        .flat()
        .find((a) => a && a.family === "IPv4" && !a.internal)!.address;
      const url = `http://${ip}:${new URL(wide.url).port}`;
      const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
        fetch(`${url}${path}`, {
          method: "POST",
          body: JSON.stringify(body),
          headers: { "content-type": "application/json", ...headers },
        });
      const scenario = { file: "scenarios/seed-000/stateless.scenario.yml", lab: lab.name };
      expect((await post("/api/runs", scenario)).status).toBe(401);
      expect((await post(`/api/labs/${lab.name}/nodes/fw/ruleset`, { text: "iptables -F" })).status).toBe(
        401,
      );
      const withToken = { authorization: `Bearer ${wide.token}` };
      const bad = await post("/api/runs", { file: "../../etc/passwd.scenario.yml" }, withToken);
      expect(bad.status).toBe(400);
      expect((await bad.json()).error).toMatch(/a \*\.scenario\.yml under scenarios\//);
      const extra = await post(
        `/api/labs/${lab.name}/nodes/fw/ruleset`,
        { text: "x", run: "rm -rf /" },
        withToken,
      );
      expect(extra.status).toBe(400);
      expect((await extra.json()).error).toMatch(/run/);
      // A terminal is only a WebSocket message away once the socket is open: the socket needs the token.
      const refused = await new Promise<boolean>((resolve) => {
        const ws = new WebSocket(`${url.replace("http", "ws")}/ws`, { origin: url });
        ws.on("open", () => resolve(false));
        ws.on("error", () => resolve(true));
      });
      expect(refused).toBe(true);
    } finally {
      await wide.close();
    }
  });

  it("serves HTTPS with --tls-cert/--tls-key, and warns when it listens beyond loopback without TLS", async () => {
    const dir = mkdtempSync(join(tmpdir(), "fwlab-tls-"));
    const [cert, key] = [join(dir, "cert.pem"), join(dir, "key.pem")];
    execFileSync("openssl", [
      ...["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost"],
      ...["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", key, "-out", cert],
    ]);
    const served = async (...args: string[]) => {
      const p = spawnFwlab("serve", "--port", "0", ...args);
      let err = "";
      const url = await new Promise<string>((resolve, reject) => {
        p.stderr!.on("data", (b: Buffer) => {
          err += b;
          const m = /dashboard: (\S+)/.exec(err);
          if (m && (/WARNING/.test(err) || !args.includes("0.0.0.0"))) resolve(m[1]!);
        });
        p.once("exit", () => reject(new Error(`fwlab serve exited: ${err}`)));
      });
      return { p, url, err: () => err };
    };
    const stop = (p: ChildProcess) =>
      new Promise((r) => {
        p.once("exit", r);
        p.kill("SIGINT");
      });
    const tls = await served("--tls-cert", cert, "--tls-key", key);
    try {
      expect(tls.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/#token=/);
      expect(tls.err()).not.toMatch(/WARNING/);
      const u = new URL(tls.url);
      const got = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        https
          .get(
            `${u.origin}/api/labs`,
            { ca: readFileSync(cert), headers: { authorization: `Bearer ${u.hash.replace("#token=", "")}` } },
            (res) => {
              let body = "";
              res.on("data", (d) => {
                body += d;
              });
              res.on("end", () => resolve({ status: res.statusCode!, body }));
            },
          )
          .on("error", reject);
      });
      expect(got.status).toBe(200);
      expect(JSON.parse(got.body).map((l: { name: string }) => l.name)).toContain(lab.name);
      // Plain HTTP on the TLS port gets no page.
      expect(
        await fetch(`http://127.0.0.1:${u.port}/`).then(
          (r) => r.status,
          () => "refused",
        ),
      ).not.toBe(200);
    } finally {
      await stop(tls.p);
    }
    const wide = await served("--host", "0.0.0.0");
    try {
      expect(wide.err()).toMatch(
        /WARNING: listening on 0\.0\.0\.0 without TLS: the token .* travel in clear/,
      );
    } finally {
      await stop(wide.p);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("opens a terminal into a node for a socket with the token, and refuses malformed messages", async () => {
    const ws = new WebSocket(`${base.replace("http", "ws")}/ws`, ["fwlab.v1", `token.${dash.token}`], {
      origin: base,
    });
    const got: ServerMessage[] = [];
    ws.on("message", (m) => got.push(JSON.parse(String(m))));
    await new Promise((r) => ws.once("open", r));
    const until = async (f: () => boolean) => {
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline && !f()) await new Promise((r) => setTimeout(r, 50));
    };
    ws.send(JSON.stringify({ kind: "term-open", id: "t1", lab: lab.name, node: "web", cols: 80 }));
    await until(() => got.some((m) => m.kind === "error"));
    expect(got.find((m) => m.kind === "error")).toMatchObject({
      reason: "rows: Invalid input: expected number, received undefined",
    });
    ws.send(JSON.stringify({ kind: "term-open", id: "t1", lab: lab.name, node: "web", cols: 80, rows: 24 }));
    const output = () => got.flatMap((m) => (m.kind === "term-output" ? [m.data] : [])).join("");
    await until(() => output().includes("root@web"));
    ws.send(JSON.stringify({ kind: "term-input", id: "t1", data: "echo $((40+2))-$(hostname)\r" }));
    await until(() => output().includes("42-web"));
    expect(output()).toContain("42-web");
    ws.send(JSON.stringify({ kind: "term-close", id: "t1" }));
    await until(() => got.some((m) => m.kind === "term-exit"));
    expect(got.find((m) => m.kind === "term-exit")).toMatchObject({ id: "t1" });
    ws.close();
  });

  it("streams attributed log lines and conntrack tables as typed messages", async () => {
    const ws = new WebSocket(`${base.replace("http", "ws")}/ws`, ["fwlab.v1", `token.${dash.token}`], {
      origin: base,
    });
    const got: ServerMessage[] = [];
    ws.on("message", (m) => got.push(JSON.parse(String(m))));
    await new Promise((r) => ws.once("open", r));
    await lab.exec("client", ["ping", "-c", "2", "-i", "0.2", "-W", "1", "10.0.2.80"]);
    const deadline = Date.now() + 5000;
    const logs = () =>
      got
        .flatMap((m) => (m.kind === "events" ? m.events : []))
        .filter((e) => e.kind === "packet-log" && e.lab === lab.name && e.prefix === "fwd-echo");
    // A node's conntrack table is sent when it changed, in the server's next batch: it may come
    // after the log lines, so both are waited for.
    const tables = () =>
      got.flatMap((m) => (m.kind === "events" ? m.events : [])).filter((e) => e.kind === "conntrack-table");
    while (Date.now() < deadline && (logs().length < 2 || tables().length === 0))
      await new Promise((r) => setTimeout(r, 50));
    ws.close();
    expect(got[0]?.kind).toBe("hello");
    expect(logs()).toHaveLength(2);
    expect(tables().length).toBeGreaterThan(0);
  });

  it("loads a ruleset from the page, shows a load error at its line, and keeps the previous ruleset", async () => {
    const post = (text: string) =>
      fetch(`${base}/api/labs/${lab.name}/nodes/fw/ruleset`, {
        method: "POST",
        headers: auth(),
        body: JSON.stringify({ text }),
      });
    const before = (await lab.exec("fw", ["fwlab-ruleset", "save"])).stdout.replace(/\[\d+:\d+\]/g, "");
    const bad = await post(
      "iptables -P FORWARD DROP\niptables -A FORWARD -m conntrack --ctstate RELTAED -j ACCEPT\n",
    );
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ line: 2 });
    expect((await lab.exec("fw", ["fwlab-ruleset", "save"])).stdout.replace(/\[\d+:\d+\]/g, "")).toBe(before);
    const invalid = await fetch(`${base}/api/labs/${lab.name}/nodes/fw/ruleset`, {
      method: "POST",
      headers: auth(),
      body: JSON.stringify({ txt: 1 }),
    });
    expect(invalid.status).toBe(400);
  });

  it("runs seed 003's chains scenario (it switches backend and NFLOG groups) with every step green and no loss", async () => {
    const ws = new WebSocket(`${base.replace("http", "ws")}/ws`, ["fwlab.v1", `token.${dash.token}`], {
      origin: base,
    });
    const got: ServerMessage[] = [];
    ws.on("message", (m) => got.push(JSON.parse(String(m))));
    await new Promise((r) => ws.once("open", r));
    const res = await fetch(`${base}/api/runs`, {
      method: "POST",
      headers: auth(),
      body: JSON.stringify({ file: "scenarios/seed-003/chains.scenario.yml", lab: lab.name }),
    });
    expect(res.status).toBe(202);
    const deadline = Date.now() + 90_000;
    while (Date.now() < deadline && !got.some((m) => m.kind === "run-done"))
      await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 1500)); // a late loss report would come within a second
    ws.close();
    const failed = got.flatMap((m) =>
      m.kind === "run-step" && !m.step.passed ? [`${m.step.name}: ${m.step.reason}`] : [],
    );
    expect(failed).toEqual([]);
    expect(got.find((m) => m.kind === "run-done")).toMatchObject({ passed: true });
    const losses = got
      .flatMap((m) => (m.kind === "events" ? m.events : []))
      .flatMap((e) => (e.kind === "loss" ? [`${e.source}: ${e.reason}`] : []));
    expect(losses).toEqual([]);
  });
});
