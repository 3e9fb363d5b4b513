import { describe, expect, it } from "vitest";
import { parseConntrackStats } from "../../src/evidence/conntrack-stats.ts";

describe("parseConntrackStats", () => {
  const where = { lab: "fwlab", node: "fw", time: 5 };
  it("reads the count, the limit, the timeouts, the drops of every CPU and the entries by state", () => {
    const out = [
      "count 1000",
      "max 1000",
      "timeout udp_timeout 30",
      "timeout tcp_timeout_established 432000",
      "cpu=0   \tfound=0 invalid=0 insert=0 insert_failed=0 drop=280 early_drop=3 error=0 search_restart=0",
      "cpu=1   \tfound=0 invalid=2 insert=0 insert_failed=0 drop=21 early_drop=0 error=0 search_restart=0",
      "breakdown",
      "entries udp UNREPLIED 999",
      "entries tcp TIME_WAIT 1",
    ].join("\n");
    expect(parseConntrackStats(out, where, 256)).toEqual({
      ...where,
      count: 1000,
      max: 1000,
      entryBytes: 256,
      memoryBytes: 256_000,
      timeouts: { udp_timeout: 30, tcp_timeout_established: 432000 },
      drops: 304,
      byState: { "udp UNREPLIED": 999, "tcp TIME_WAIT": 1 },
    });
  });

  it("leaves the breakdown out when the table was too big to count", () => {
    const s = parseConntrackStats("count 30000\nmax 262144\n", where);
    expect(s.byState).toBeUndefined();
    expect(s.count).toBe(30000);
  });
});
