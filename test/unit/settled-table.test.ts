import { describe, expect, it } from "vitest";
import type { ConntrackEntry } from "../../src/evidence/parse-conntrack.ts";
import { settledTable } from "../../src/scenarios/settled-table.ts";

// A firewall's table read until the probe's own TCP connections are done closing.
const FLOW = { proto: "tcp", dst: "10.0.2.80", sport: 61001, dport: 80 } as const;
const entry = (state: string, sport = 61001): ConntrackEntry => ({
  proto: "tcp",
  state,
  original: { src: "10.0.1.10", dst: "10.0.2.80", sport, dport: 80 },
  reply: { src: "10.0.2.80", dst: "10.0.1.10", sport: 80, dport: sport },
  assured: true,
  unreplied: false,
  nat: { snat: false, dnat: false },
});
/** Reads that return the given tables in turn (the last one from then on), counting the reads. */
const reads = (...tables: ConntrackEntry[][]) => {
  let n = 0;
  const read = async () => tables[Math.min(n++, tables.length - 1)]!;
  return { read, count: () => n };
};

describe("settledTable", () => {
  it("reads again while the probe's connection is closing, and returns it closed", async () => {
    const r = reads([entry("FIN_WAIT")], [entry("LAST_ACK")], [entry("TIME_WAIT")]);
    expect((await settledTable(r.read, [FLOW]))[0]?.state).toBe("TIME_WAIT");
    expect(r.count()).toBe(3);
  });

  it("reads once when the probe's connections are settled, or the closing one is another's", async () => {
    const settled = reads([entry("ESTABLISHED"), entry("TIME_WAIT")]);
    await settledTable(settled.read, [FLOW]);
    expect(settled.count()).toBe(1);
    const other = reads([entry("FIN_WAIT", 40000)]);
    await settledTable(other.read, [FLOW]);
    expect(other.count()).toBe(1);
  });

  it("gives up after its limit with the table as it is (a peer that never closes)", async () => {
    const stuck = reads([entry("CLOSE_WAIT")]);
    expect((await settledTable(stuck.read, [FLOW], 100))[0]?.state).toBe("CLOSE_WAIT");
    expect(stuck.count()).toBeGreaterThan(1);
  });
});
