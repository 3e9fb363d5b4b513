import type { TraceEvent } from "../../src/evidence/events.ts";
import type { TracePacket } from "../../src/evidence/parse-trace.ts";

/**
 * A firewall's trace line for the unit tests: fw's filter FORWARD accepting the client's SYN to
 * ssh (10.0.1.10:61001 -> 10.0.2.22:22) unless the test says otherwise.
 */
export const traceLine = (over: Partial<TraceEvent> = {}, packet: Partial<TracePacket> = {}): TraceEvent => ({
  kind: "trace",
  lab: "l",
  node: "fw",
  packetId: "1",
  table: "filter",
  chain: "FORWARD",
  verdict: "ACCEPT",
  ruleText: "",
  packet: {
    packetId: "1",
    src: "10.0.1.10",
    dst: "10.0.2.22",
    proto: "tcp",
    sport: 61001,
    dport: 22,
    flags: ["SYN"],
    ...packet,
  },
  time: 1,
  ...over,
});
