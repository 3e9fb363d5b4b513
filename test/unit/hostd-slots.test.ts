import { type ChildProcess, spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// The host helper's daemon (images/roles/hostd), run as itself on a socket of the test's own:
// its semaphores are what paces overlay starts across fwlab processes.
let dir: string;
let daemon: ChildProcess;
const socket = () => join(dir, "hostd.sock");
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "fwlab-hostd-"));
  // A .cjs copy: the repository's package.json makes a .js file an ES module.
  copyFileSync("images/roles/hostd/usr/local/lib/fwlab/hostd.js", join(dir, "hostd.cjs"));
  daemon = spawn(process.execPath, [join(dir, "hostd.cjs"), "daemon"], {
    env: { ...process.env, FWLAB_HOSTD_SOCKET: socket() },
    stdio: "ignore",
  });
  for (let i = 0; i < 200 && !existsSync(socket()); i++) await new Promise((r) => setTimeout(r, 10));
});
afterAll(() => {
  daemon.kill();
  rmSync(dir, { recursive: true, force: true });
});

/** A session as fwlab's relay makes one: JSON lines each way; answers by id. */
async function session(): Promise<{
  ask(req: object): Promise<object>;
  answered: Set<number>;
  end(): Promise<void>;
}> {
  const conn: Socket = connect(socket());
  await new Promise((r) => conn.once("connect", r));
  const waiting = new Map<number, (r: object) => void>();
  const answered = new Set<number>();
  let buf = "";
  let next = 1;
  conn.on("data", (b) => {
    buf += b.toString();
    for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
      const r = JSON.parse(buf.slice(0, nl)) as { id: number };
      buf = buf.slice(nl + 1);
      answered.add(r.id);
      waiting.get(r.id)?.(r);
    }
  });
  return {
    ask: (req) =>
      new Promise((resolve) => {
        const id = next++;
        waiting.set(id, resolve);
        conn.write(`${JSON.stringify({ id, ...req })}\n`);
      }),
    answered,
    // The daemon ends its side once it has given back what the session held: when this side
    // sees the close, that is done (no guessing how long a busy machine takes).
    end: () =>
      new Promise<void>((r) => {
        conn.once("close", () => r());
        conn.end();
      }),
  };
}
// Only to see that something did NOT happen meanwhile: a slow machine cannot make that pass wrongly.
const settle = () => new Promise((r) => setTimeout(r, 100));

describe("hostd's semaphores (overlay starts paced across fwlab processes)", () => {
  it("grants `limit` slots, makes the next wait, and gives a slot on when one is released", async () => {
    const [a, b, c] = await Promise.all([session(), session(), session()]);
    await a.ask({ op: "acquire", name: "s1", limit: 2 });
    await b.ask({ op: "acquire", name: "s1", limit: 2 });
    const third = c.ask({ op: "acquire", name: "s1", limit: 2 });
    await settle();
    expect(c.answered.size).toBe(0);
    await a.ask({ op: "release", name: "s1" });
    await third;
    expect(c.answered.size).toBe(1);
    await Promise.all([a, b, c].map((s) => s.end()));
  });

  it("gives back what a session held, and forgets what it waited for, when it ends (fwlab killed)", async () => {
    const [a, b, c] = await Promise.all([session(), session(), session()]);
    await a.ask({ op: "acquire", name: "s2", limit: 1 });
    void b.ask({ op: "acquire", name: "s2", limit: 1 }); // waits, then goes away
    const cWaits = c.ask({ op: "acquire", name: "s2", limit: 1 });
    await settle();
    await b.end();
    await a.end(); // killed while holding: its slot goes to c, not to b that left
    await cWaits;
    expect(c.answered.size).toBe(1);
    const d = await session();
    const dWaits = d.ask({ op: "acquire", name: "s2", limit: 1 });
    await settle();
    expect(d.answered.size).toBe(0); // c holds the only slot
    await c.end();
    await dWaits;
    await d.end();
  });

  it("a release of nothing held changes nothing", async () => {
    const [a, b] = await Promise.all([session(), session()]);
    await a.ask({ op: "release", name: "s3" });
    await a.ask({ op: "acquire", name: "s3", limit: 1 });
    await b.ask({ op: "release", name: "s3" }); // b holds none: a keeps its slot
    const bWaits = b.ask({ op: "acquire", name: "s3", limit: 1 });
    await settle();
    expect(b.answered.size).toBe(1); // only the release was answered
    await a.end();
    await bWaits;
    await b.end();
  });
});
