import { describe, expect, it } from "vitest";
import { EventBus } from "../../src/evidence/event-bus.ts";
import type { TraceEvent } from "../../src/evidence/events.ts";
import { parseTracePacket } from "../../src/evidence/parse-trace.ts";
import { DropVerdicts, packetOf, type WatchedFlow } from "../../src/scenarios/drop-verdicts.ts";

// PACKET lines recorded from the default lab's firewall (xtables-monitor 1.8.9).
const SYN =
  "PACKET: 2 f4a34d92 IN=lan MACSRC=2:42:a:0:1:a MACDST=2:42:a:0:1:1 MACPROTO=0800 SRC=10.0.1.10 DST=10.0.2.80 LEN=60 TOS=0x0 TTL=64 ID=27463 DF SPORT=61001 DPORT=80 SYN ";
const UDP =
  "PACKET: 2 c70479d3 IN=lan OUT=dmz MACSRC=2:42:a:0:1:a MACDST=2:42:a:0:1:1 MACPROTO=0800 SRC=10.0.1.10 DST=10.0.2.53 LEN=74 TOS=0x0 TTL=63 ID=32103 SPORT=61002 DPORT=53 ";
const ICMP =
  "PACKET: 2 8c38023b IN=lan MACSRC=2:42:a:0:1:a MACDST=2:42:a:0:1:1 MACPROTO=0800 SRC=10.0.1.10 DST=10.0.2.80 LEN=84 TOS=0x0 TTL=64 ID=60028 DF ";

describe("parseTracePacket", () => {
  it("reads addresses, ports, flags and tells TCP, UDP and the rest apart", () => {
    expect(parseTracePacket(SYN)).toEqual({
      packetId: "f4a34d92",
      in: "lan",
      out: undefined,
      src: "10.0.1.10",
      dst: "10.0.2.80",
      proto: "tcp",
      sport: 61001,
      dport: 80,
      flags: ["SYN"],
    });
    expect(parseTracePacket(UDP)).toMatchObject({
      proto: "udp",
      out: "dmz",
      sport: 61002,
      dport: 53,
      flags: [],
    });
    expect(parseTracePacket(ICMP)).toMatchObject({ proto: "other", sport: undefined });
    expect(parseTracePacket(" TRACE: 2 7ea56cf6 filter:FORWARD:policy:DROP ")).toBeUndefined();
  });
});

const flow = (over: Partial<WatchedFlow> = {}): WatchedFlow => ({
  lab: "l",
  fromNode: "client",
  src: ["10.0.1.10"],
  proto: "tcp",
  dst: "10.0.2.80",
  dport: 80,
  sport: 61001,
  ...over,
});
const drop = (line: string, over: Partial<TraceEvent> = {}): TraceEvent => ({
  kind: "trace",
  lab: "l",
  node: "fw",
  packetId: "x",
  table: "filter",
  chain: "FORWARD",
  verdict: "DROP",
  ruleText: "policy DROP",
  packet: parseTracePacket(line),
  time: Date.now() + 1,
  ...over,
});
const settled = async (p: Promise<unknown>) =>
  Promise.race([p.then(() => true), new Promise((r) => setTimeout(() => r(false), 20))]);

describe("packetOf", () => {
  it("matches the flow's SYN both ways, and not another port or a non-SYN segment", () => {
    const syn = parseTracePacket(SYN)!;
    expect(packetOf(flow(), syn)).toBe(true);
    expect(packetOf(flow({ sport: 61009 }), syn)).toBe(false);
    const synAck = {
      ...syn,
      src: "10.0.2.80",
      dst: "10.0.1.10",
      sport: 80,
      dport: 61001,
      flags: ["SYN", "ACK"],
    };
    expect(packetOf(flow(), synAck)).toBe(true);
    expect(packetOf(flow(), { ...syn, flags: ["FIN", "ACK"] })).toBe(false);
    expect(packetOf(flow(), { ...syn, flags: ["FIN", "ACK"] }, true)).toBe(true);
    expect(
      packetOf(flow({ proto: "icmp", sport: undefined, dport: undefined }), parseTracePacket(ICMP)!),
    ).toBe(true);
  });
});

describe("DropVerdicts", () => {
  it("gives each watch only its own flow's drop, and only DROP rules and policies", async () => {
    const bus = new EventBus();
    const drops = new DropVerdicts(bus);
    const a = drops.watch(flow());
    const b = drops.watch(flow({ sport: 61002, proto: "udp", dst: "10.0.2.53", dport: 53 }));
    bus.publish(
      drop(SYN, {
        rule: 3,
        verdict: "DROP",
        ruleText: "-A FORWARD -p tcp -j REJECT --reject-with tcp-reset",
      }),
    );
    expect(await settled(a.dropped)).toBe(false);
    bus.publish(drop(SYN, { rule: 4, ruleText: "-A FORWARD -p tcp -m tcp --dport 80 -j DROP" }));
    expect(await a.dropped).toMatchObject({ rule: 4 });
    expect(await settled(b.dropped)).toBe(false);
    bus.publish(drop(UDP));
    expect(await b.dropped).toMatchObject({ ruleText: "policy DROP" });
    drops.close();
  });

  it("leaves two flows it cannot tell apart to their timeouts, and OUTPUT drops to the sender", async () => {
    const bus = new EventBus();
    const drops = new DropVerdicts(bus);
    const icmp = flow({ proto: "icmp", sport: undefined, dport: undefined });
    const one = drops.watch(icmp);
    const two = drops.watch(icmp);
    const own = drops.watch(flow({ fromNode: "fw" }));
    bus.publish(drop(ICMP));
    bus.publish(drop(SYN, { node: "fw", chain: "OUTPUT" }));
    expect(await settled(one.dropped)).toBe(false);
    expect(await settled(two.dropped)).toBe(false);
    expect(await settled(own.dropped)).toBe(false);
    drops.close();
  });
});
