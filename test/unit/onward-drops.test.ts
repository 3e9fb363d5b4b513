import { describe, expect, it } from "vitest";
import type { TraceEvent } from "../../src/evidence/events.ts";
import type { TracePacket } from "../../src/evidence/parse-trace.ts";
import { onwardDrops, onwardDropsClause } from "../../src/scenarios/onward-drops.ts";
import { traceLine } from "../support/trace-line.ts";

/** A trace line of fw about one packet: the DNS server's question, dropped by forward rule 7. */
const traced = (packet: Partial<TracePacket>, over: Partial<TraceEvent> = {}): TraceEvent =>
  traceLine(
    {
      chain: "forward",
      rule: 7,
      verdict: "DROP",
      ruleText: 'log prefix "nft-fwd-drop: " counter packets 1 bytes 72 drop',
      ...over,
    },
    { src: "10.0.2.53", dst: "198.51.100.53", proto: "udp", sport: 41234, dport: 53, flags: [], ...packet },
  );
const CLIENT = ["10.0.1.10", "2001:db8:1::10"];

describe("onwardDrops: what the probe's server asked another host, that a firewall dropped", () => {
  it("finds the server's dropped question, once per destination and port (a resolver retries)", () => {
    const drops = onwardDrops(
      [traced({}), traced({ sport: 41235 }), traced({ dst: "198.51.100.54" })],
      "10.0.2.53",
      CLIENT,
    );
    expect(drops.map((e) => `${e.packet?.dst}:${e.packet?.dport}`)).toEqual([
      "198.51.100.53:53",
      "198.51.100.54:53",
    ]);
    expect(onwardDropsClause(drops.slice(0, 1), "10.0.2.53")).toBe(
      "; meanwhile 10.0.2.53 asked another host, and a firewall dropped that: UDP 10.0.2.53:41234 -> 198.51.100.53:53 (fw filter forward rule 7)",
    );
  });

  it("leaves out the server's answers to the client, other hosts' packets, and packets let through or rejected", () => {
    const events = [
      traced({ dst: "10.0.1.10", sport: 53, dport: 61001 }), // the answer: the probe's own flow
      traced({ src: "10.0.2.80" }), // another server
      traced({}, { verdict: "ACCEPT", ruleText: "accept" }),
      traced({}, { ruleText: "reject with icmp port-unreachable", verdict: "DROP" }), // REJECT answers
      traced({ dst: "2001:db8:1::10" }),
    ];
    expect(onwardDrops(events, "10.0.2.53", CLIENT)).toEqual([]);
    expect(onwardDropsClause([], "10.0.2.53")).toBe("");
  });

  it("names a policy drop, an IPv6 address with its port in brackets, and how many more there were", () => {
    const v6 = traced(
      { src: "2001:db8:2::53", dst: "2001:db8:ff::53", proto: "tcp", sport: 40000 },
      { rule: undefined, ruleText: "policy DROP", chain: "FORWARD" },
    );
    const four = [1, 2, 3, 4].map((i) => traced({ dst: `198.51.100.${i}` }));
    expect(onwardDropsClause([v6], "2001:db8:2::53")).toBe(
      "; meanwhile 2001:db8:2::53 asked another host, and a firewall dropped that: TCP [2001:db8:2::53]:40000 -> [2001:db8:ff::53]:53 (fw filter FORWARD policy DROP)",
    );
    expect(onwardDropsClause(four, "10.0.2.53")).toMatch(
      /198\.51\.100\.3:53 \(fw filter forward rule 7\) and 1 more$/,
    );
  });
});
