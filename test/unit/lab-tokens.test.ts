import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { EvidenceEvent } from "../../src/evidence/events.ts";
import { LabTokens } from "../../src/server/lab-tokens.ts";
import type { ServerMessage } from "../../src/server/protocol.ts";
import { visibleTo } from "../../src/server/visible-to.ts";

const dir = mkdtempSync(join(tmpdir(), "fwlab-tokens-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("lab tokens", () => {
  it("open the lab they were made for, are kept as digests only the owner reads, and end when revoked", () => {
    const file = join(dir, "state", "tokens.json");
    const tokens = new LabTokens(file);
    const a = tokens.create("lab-a");
    const a2 = tokens.create("lab-a");
    const b = tokens.create("lab-b");
    expect(new Set([a, a2, b]).size).toBe(3);
    // Another process's view of the same file (a running `fwlab serve`).
    const server = new LabTokens(file);
    expect([server.labOf(a), server.labOf(a2), server.labOf(b), server.labOf("lab.nope")]).toEqual([
      "lab-a",
      "lab-a",
      "lab-b",
      undefined,
    ]);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.stringify(tokens.list())).not.toContain(a);
    expect(readFileSync(file, "utf8")).not.toContain(a.slice(4));
    expect(tokens.revoke("lab-a")).toBe(2);
    expect(server.labOf(a)).toBeUndefined();
    expect(server.labOf(b)).toBe("lab-b");
    expect(() => tokens.create("../x")).toThrow(/not a lab name/);
  });

  it("a file that is not fwlab's opens nothing and says so", () => {
    const file = join(dir, "bad.json");
    writeFileSync(file, '{"lab": "x"}');
    expect(() => new LabTokens(file).labOf("t")).toThrow(/not fwlab's token file/);
  });
});

describe("visibleTo", () => {
  const mine = { all: false, lab: "a" } as const;
  const ev = (lab?: string): EvidenceEvent =>
    lab
      ? { kind: "counters", lab, node: "fw", tables: [], time: 1 }
      : { kind: "notice", level: "warn", message: "the server's own", time: 1 };
  it("gives a lab's token what is about its lab only; the teacher's everything", () => {
    const events: ServerMessage = { kind: "events", events: [ev("a"), ev("b"), ev()] };
    expect(visibleTo(mine, events)).toEqual({ kind: "events", events: [ev("a")] });
    expect(visibleTo(mine, { kind: "events", events: [ev("b")] })).toBeUndefined();
    expect(visibleTo({ all: true }, events)).toBe(events);
    expect(visibleTo(mine, { kind: "rates", lab: "b", pps: {} })).toBeUndefined();
    expect(visibleTo(mine, { kind: "run-done", id: "r", lab: "a", passed: true })).toBeDefined();
    const hello = visibleTo(mine, {
      kind: "hello",
      labs: ["a", "b"].map((name) => ({ name, engine: "default", hosts: ["default"], nodes: [] })),
    });
    expect(hello?.kind === "hello" && hello.labs.map((l) => l.name)).toEqual(["a"]);
  });
});
