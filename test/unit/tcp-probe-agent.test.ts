import { copyFileSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AgentResult } from "../../src/probes/probe-agent.ts";
import { tcp } from "../../src/probes/tcp.ts";
import { scratchDir } from "../support/scratch-dir.ts";

// The agent's tcp handler (images/common/usr/local/lib/fwlab/probes/tcp.js) run by plain Node
// against a local server that greets like SMTP and records every byte it is sent: a probe sends
// exactly what its step names, and reads a greeting without sending anything.
const dir = scratchDir("tcp-agent");
mkdirSync(join(dir, "probes"));
copyFileSync("images/common/usr/local/lib/fwlab/probe-lib.js", join(dir, "probe-lib.js"));
copyFileSync("images/common/usr/local/lib/fwlab/probes/tcp.js", join(dir, "probes", "tcp.js"));
type Handler = (req: Record<string, unknown>, ctx: object) => Promise<AgentResult>;
const tcpAgent = createRequire(import.meta.url)(join(dir, "probes", "tcp.js")) as Handler;

describe("the tcp probe in the agent", () => {
  let server: Server;
  let port: number;
  const received: string[] = [];
  beforeAll(async () => {
    server = createServer((s) => {
      let got = "";
      s.on("data", (d) => {
        got += d.toString("latin1");
      });
      s.on("close", () => received.push(got));
      s.on("error", () => {});
      s.write(`220 lab ESMTP; you are ${s.remoteAddress} ${s.remotePort}\r\n`);
    });
    await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
    port = (server.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((ok) => server.close(() => ok())));

  /** Runs one step's request through the handler; returns its result and what the server got. */
  const run = async (step: Record<string, unknown>, wantsAnswer = false) => {
    const sourcePort = 40_000 + Math.floor(Math.random() * 20_000);
    const request = tcp.request(
      { probe: "tcp" as const, to: "127.0.0.1", port, ...step },
      { to: "127.0.0.1", waitMs: 2000, timeoutMs: 500, ports: [sourcePort], wantsAnswer },
    );
    const before = received.length;
    const r = await tcpAgent(request, {
      flow: () => {},
      answered: () => {},
      signal: new AbortController().signal,
    });
    await expect.poll(() => received.length).toBe(before + 1);
    return { r, sent: received[before], seen: tcp.seenFrom?.(r) };
  };

  it("connects and closes, sending nothing, when the step names nothing to send or read", async () => {
    const { r, sent } = await run({});
    expect(r.verdict).toBe("ok");
    expect(r.facts?.received).toBeUndefined();
    expect(sent).toBe("");
  });

  it("reads the greeting for `reply` alone and sends nothing", async () => {
    const { r, sent } = await run({ reply: "ESMTP" });
    expect(r.facts?.received).toMatch(/^220 lab ESMTP/);
    expect(sent).toBe("");
  });

  it("reads the greeting for a seenFrom check alone, which learns whom the server saw", async () => {
    const { seen, sent } = await run({}, true);
    expect(seen).toBe("127.0.0.1");
    expect(sent).toBe("");
  });

  it("sends exactly `send`, then reads", async () => {
    const { r, sent } = await run({ send: "EHLO client\r\n", reply: "220" });
    expect(r.facts?.received).toContain("220");
    expect(sent).toBe("EHLO client\r\n");
  });
});
