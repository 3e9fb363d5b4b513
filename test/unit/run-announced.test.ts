import { copyFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { scratchDir } from "../support/scratch-dir.ts";

// The probe agent's helper runs in lab nodes as CommonJS, and plain Node runs it here too (as
// .cjs: this package's .js files are modules).
const lib = join(scratchDir("unit"), "probe-lib.cjs");
copyFileSync("images/common/usr/local/lib/fwlab/probe-lib.js", lib);
const { runAnnounced } = createRequire(import.meta.url)(lib) as {
  runAnnounced: (
    ctx: { flow: (f: object) => void },
    flow: { proto: string; dst: string; dport?: number; sport?: number },
    file: string,
    args: string[],
    opts: { timeoutMs: number },
  ) => Promise<{ code: number | string }>;
};

/** A program slow to start: it binds its UDP source port after `delayMs`, then lingers. */
const slowSender = (port: number, delayMs: number) => [
  "-e",
  `setTimeout(() => { const s = require("node:dgram").createSocket("udp4"); s.bind(${port}, () => setTimeout(() => process.exit(0), 400)); }, ${delayMs});`,
];

describe("runAnnounced (the probe agent's program runner)", () => {
  it("tells a program's flow once its source port is bound, not when it is spawned", async () => {
    const port = 40_000 + Math.floor(Math.random() * 20_000);
    const t0 = performance.now();
    let at: number | undefined;
    const r = await runAnnounced(
      {
        flow: () => {
          at = performance.now() - t0;
        },
      },
      { proto: "udp", dst: "192.0.2.1", dport: 53, sport: port },
      process.execPath,
      slowSender(port, 600),
      { timeoutMs: 10_000 },
    );
    expect(r.code).toBe(0);
    expect(at).toBeGreaterThanOrEqual(600);
    // Announced while the program still ran (it lingers 400 ms after binding), not at its end.
    expect(at).toBeLessThan(performance.now() - t0 - 200);
  });

  it("tells it when the program ends, at the latest (a program that never sent)", async () => {
    const flows: object[] = [];
    await runAnnounced(
      { flow: (f) => flows.push(f) },
      { proto: "udp", dst: "192.0.2.1", dport: 53, sport: 1 },
      process.execPath,
      ["-e", "0"],
      { timeoutMs: 10_000 },
    );
    expect(flows).toEqual([{ proto: "udp", dst: "192.0.2.1", dport: 53, sport: 1 }]);
  });
});
