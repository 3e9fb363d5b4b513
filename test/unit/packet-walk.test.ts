import { describe, expect, it } from "vitest";
import type { TraceEvent } from "../../src/evidence/events.ts";
import { explainWalk, WalkCollector, walkOf } from "../../src/evidence/packet-walk.ts";
import { parseTraceLine, type TracePacket } from "../../src/evidence/parse-trace.ts";
import { chainHooks } from "../../src/firewall/rule-handles.ts";

const packet = (dst: string, dport: number): TracePacket => ({
  packetId: "9c7f5818",
  in: "wan",
  src: "203.0.113.5",
  dst,
  proto: "tcp",
  sport: 40000,
  dport,
  flags: ["SYN"],
});
const before = packet("203.0.113.1", 8080);
const after = packet("10.0.2.80", 80);
let t = 0;
const ev = (e: Partial<TraceEvent> & Pick<TraceEvent, "table" | "chain" | "verdict">): TraceEvent => ({
  kind: "trace",
  lab: "fwlab",
  node: "fw",
  packetId: "9c7f5818",
  ruleText: e.rule === undefined ? `policy ${e.verdict}` : "",
  packet: before,
  time: ++t,
  ...e,
});

// A connection's first packet DNAT'd at nat PREROUTING and forwarded, as fwlab's trace reader reports it.
const dnat: TraceEvent[] = [
  ev({ hook: "PREROUTING", table: "raw", chain: "PREROUTING", verdict: "ACCEPT", seen: before }),
  ev({
    hook: "PREROUTING",
    table: "nat",
    chain: "PREROUTING",
    rule: 1,
    verdict: "ACCEPT",
    ruleText: "-A PREROUTING -i wan -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.0.2.80:80",
    seen: before,
    ct: { state: "new", dir: "original", nat: [] },
  }),
  ev({
    hook: "FORWARD",
    table: "filter",
    chain: "FORWARD",
    rule: 2,
    verdict: "JUMP",
    ruleText: "-A FORWARD -j wan_in",
    seen: after,
    ct: { state: "new", dir: "original", nat: ["dnat"] },
  }),
  ev({
    hook: "FORWARD",
    table: "filter",
    chain: "wan_in",
    rule: 1,
    verdict: "ACCEPT",
    ruleText: "-A wan_in -d 10.0.2.80/32 -p tcp -m tcp --dport 80 -j ACCEPT",
  }),
  ev({ hook: "POSTROUTING", table: "nat", chain: "POSTROUTING", verdict: "ACCEPT", seen: after }),
];

describe("a packet's walk", () => {
  it("follows the hooks in order, puts the rewrite on the nat rule that did it, and names the route", () => {
    const w = walkOf(dnat);
    expect(w.hooks).toEqual(["PREROUTING", "FORWARD", "POSTROUTING"]);
    expect(w.route).toBe("forward");
    expect(w.fate).toBe("accepted");
    expect(w.steps.map((s) => s.rewrite)).toEqual([
      undefined,
      "dst 203.0.113.1:8080 -> 10.0.2.80:80",
      undefined,
      undefined,
      undefined,
    ]);
    const text = explainWalk(w);
    expect(text).toMatch(
      /^fwlab\/fw packet 9c7f5818: TCP 203\.0\.113\.5:40000 -> 203\.0\.113\.1:8080 \[SYN\] in wan$/m,
    );
    expect(text).toContain("-- routing decision: for another host -> FORWARD");
    expect(text).toMatch(
      /nat PREROUTING rule 1 +ACCEPT +-A PREROUTING .*DNAT .*\[ct new\]\n +NAT: dst 203\.0\.113\.1:8080 -> 10\.0\.2\.80:80/,
    );
    expect(text).toMatch(/filter wan_in rule 1 +ACCEPT/);
    // Hook headers appear once each, in the order the packet met them.
    expect([...text.matchAll(/^ {2}([A-Z]+)$/gm)].map((m) => m[1])).toEqual([
      "PREROUTING",
      "FORWARD",
      "POSTROUTING",
    ]);
    expect(text.trimEnd().split("\n").at(-1)).toBe(
      "  => ACCEPTED (hooks: PREROUTING -> FORWARD -> POSTROUTING)",
    );
  });

  it("ends a walk at a drop or at fwlab's own last chain, flushes idle ones, and keeps arrival order", () => {
    const c = new WalkCollector(500);
    expect(c.add(dnat[0]!, 0)).toEqual([]);
    const [dropped] = c.add({ ...dnat[2]!, verdict: "DROP", rule: undefined, ruleText: "policy DROP" }, 10);
    expect(dropped?.fate).toBe("dropped");
    expect(dropped?.steps).toHaveLength(2);
    c.add({ ...dnat[0]!, packetId: "1" }, 20);
    expect(c.add({ ...dnat[4]!, packetId: "1", passed: "forwarded" }, 30).map((w) => w.fate)).toEqual([
      "forwarded",
    ]);
    c.add({ ...dnat[0]!, packetId: "2" }, 40);
    // Packet 4 ends before packet 2 does: it waits, and both go out in the order they came.
    c.add({ ...dnat[0]!, packetId: "4" }, 50);
    expect(c.add({ ...dnat[2]!, packetId: "4", verdict: "DROP" }, 60)).toEqual([]);
    expect(c.flush(400)).toEqual([]);
    expect(c.flush(600).map((w) => w.packetId)).toEqual(["2", "4"]);
    // A packet id seen again after the idle time is a new packet.
    c.add({ ...dnat[0]!, packetId: "3" }, 1000);
    expect(c.add({ ...dnat[1]!, packetId: "3" }, 2000).map((w) => w.steps.length)).toEqual([1]);
    expect(c.flush(2000, true).map((w) => w.steps.length)).toEqual([1]);
  });

  it("starts a new walk when an id comes back for a later packet, and says when conntrack did the NAT", () => {
    const c = new WalkCollector(500);
    for (const e of dnat.slice(0, 4)) expect(c.add(e, 0)).toEqual([]);
    // The same id at PREROUTING again: the forwarded packet was done, this is the next one.
    const later = { ...dnat[0]!, seen: before, packet: before };
    const [first] = c.add(later, 1);
    expect(first?.hooks).toEqual(["PREROUTING", "FORWARD"]);
    // An explicit start (fwlab's trace rule matched again) splits as well.
    const established = {
      ...dnat[3]!,
      rule: 1,
      ruleText: "-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
    };
    expect(c.add({ ...established, seen: after }, 2)).toEqual([]);
    const [second] = c.add({ ...dnat[0]!, start: true }, 3);
    // No nat rule saw it: the rewrite is conntrack's, on the step where it showed.
    expect(second?.steps[0]?.rewrite).toBe(
      "dst 203.0.113.1:8080 -> 10.0.2.80:80 (by conntrack, as the connection's first packet set up)",
    );
    expect(second?.hooks).toEqual(["PREROUTING", "FORWARD"]);
  });

  it("reads the conntrack state of a trace line and the hooks of base chains", () => {
    const line =
      "trace id=9c7f5818 type=rule table=filter chain=FORWARD handle=5 verdict=accept family=ip iif=lan oif=dmz src=10.0.1.10 dst=10.0.2.80 len=60 ttl=63 ipid=1 proto=tcp sport=61001 dport=80 flags=SYN ct=new ctdir=original ctnat=dnat";
    expect(parseTraceLine(line)?.ct).toEqual({ state: "new", dir: "original", nat: ["dnat"] });
    expect(parseTraceLine(line.replace(/ ct=.*/, ""))?.ct).toBeUndefined();
    const listing = [
      "table ip nat {",
      "\tchain PREROUTING {",
      "\t\ttype nat hook prerouting priority dstnat; policy accept;",
      "\t\ttcp dport 8080 counter packets 0 bytes 0 dnat to 10.0.2.80:80 # handle 4",
      "\t}",
      "\tchain wan_in {",
      "\t\tcounter packets 0 bytes 0 accept # handle 7",
      "\t}",
      "}",
      "table inet filter {",
      "\tchain input {",
      "\t\ttype filter hook input priority filter; policy drop;",
      "\t}",
      "}",
    ].join("\n");
    expect([...chainHooks(listing)]).toEqual([
      ["ip nat PREROUTING", "PREROUTING"],
      ["inet filter input", "INPUT"],
    ]);
  });
});
