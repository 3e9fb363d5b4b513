import { describe, expect, it } from "vitest";
import { EventBus } from "../../src/evidence/event-bus.ts";
import type { TraceEvent } from "../../src/evidence/events.ts";
import { parseTraceLine, type TracePacket } from "../../src/evidence/parse-trace.ts";
import { FlowVerdicts, packetOf, type WatchedFlow } from "../../src/scenarios/flow-verdicts.ts";

// Lines of images/common/usr/local/lib/fwlab/nftrace, recorded from the default lab's firewall.
const SYN =
  "trace id=f4a34d92 type=rule table=fwlab_trace chain=pre handle=9 verdict=continue family=ip iif=lan src=10.0.1.10 dst=10.0.2.80 len=60 ttl=64 ipid=27463 proto=tcp sport=61001 dport=80 flags=SYN";
const UDP =
  "trace id=c70479d3 type=rule table=filter chain=FORWARD handle=4 verdict=accept family=ip iif=lan oif=dmz src=10.0.1.10 dst=10.0.2.53 len=74 ttl=63 ipid=32103 proto=udp sport=61002 dport=53";
const ICMP =
  "trace id=8c38023b type=policy table=filter chain=FORWARD handle=0 verdict=drop family=ip iif=lan src=10.0.1.10 dst=10.0.2.80 len=84 ttl=64 ipid=60028 proto=icmp icmptype=8 icmpcode=0";
// The web server's "port unreachable" about a UDP datagram from the client, as the firewall's
// FORWARD chain saw it on its way back (the error quotes the datagram's protocol, not its ports).
const UNREACHABLE =
  "trace id=720acf0d type=rule table=filter chain=FORWARD handle=0 verdict=continue family=ip iif=dmz oif=lan src=10.0.2.80 dst=10.0.1.10 len=67 ttl=63 ipid=43411 proto=icmp icmptype=3 icmpcode=3 about=udp ct=related ctdir=reply";
const packetOf_ = (line: string): TracePacket => parseTraceLine(line)!.packet!;

describe("parseTraceLine", () => {
  it("reads the event, and its packet's addresses, ports and flags, and tells TCP, UDP and the rest apart", () => {
    expect(parseTraceLine(SYN)).toMatchObject({
      packetId: "f4a34d92",
      table: "fwlab_trace",
      chain: "pre",
      what: "rule",
      verdict: "CONTINUE",
      handle: 9,
    });
    expect(packetOf_(SYN)).toEqual({
      packetId: "f4a34d92",
      in: "lan",
      out: undefined,
      src: "10.0.1.10",
      dst: "10.0.2.80",
      proto: "tcp",
      sport: 61001,
      dport: 80,
      flags: ["SYN"],
      ttl: 64,
      icmpType: undefined,
    });
    expect(packetOf_(UDP)).toMatchObject({ proto: "udp", out: "dmz", sport: 61002, dport: 53, flags: [] });
    expect(parseTraceLine(ICMP)).toMatchObject({ what: "policy", verdict: "DROP" });
    expect(packetOf_(ICMP)).toMatchObject({ proto: "other", sport: undefined, icmpType: 8 });
    expect(packetOf_(ICMP).about).toBeUndefined();
    expect(packetOf_(UNREACHABLE)).toMatchObject({ proto: "other", icmpType: 3, about: "udp" });
    expect(
      parseTraceLine(
        "trace id=7ea56cf6 type=policy table=filter chain=FORWARD handle=0 verdict=drop family=ip",
      )?.packet,
    ).toBeUndefined();
    expect(parseTraceLine("lost reason=ENOBUFS")).toBeUndefined();
    expect(parseTraceLine("ready")).toBeUndefined();
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
  packet: packetOf_(line),
  time: Date.now() + 1,
  ...over,
});
const settled = async (p: Promise<unknown>) =>
  Promise.race([p.then(() => true), new Promise((r) => setTimeout(() => r(false), 20))]);

describe("packetOf", () => {
  it("matches the flow's SYN both ways, and not another port or a non-SYN segment", () => {
    const syn = packetOf_(SYN)!;
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
    expect(packetOf(flow({ proto: "icmp", sport: undefined, dport: undefined }), packetOf_(ICMP)!)).toBe(
      true,
    );
    // The answer to a masqueraded client reaches the firewall addressed to the firewall: its
    // ports tell it; another port, or another server, does not.
    const masqueraded = { ...synAck, dst: "198.51.100.1" };
    expect(packetOf(flow(), masqueraded)).toBe(true);
    expect(packetOf(flow(), { ...masqueraded, dport: 61002 })).toBe(false);
    expect(packetOf(flow(), { ...masqueraded, src: "10.0.2.81" })).toBe(false);
  });
});

describe("FlowVerdicts", () => {
  it("gives each watch only its own flow's drop, and only DROP rules and policies", async () => {
    const bus = new EventBus();
    const drops = new FlowVerdicts(bus);
    const a = drops.watch(flow(), 0);
    const b = drops.watch(flow({ sport: 61002, proto: "udp", dst: "10.0.2.53", dport: 53 }), 0);
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
    const drops = new FlowVerdicts(bus);
    const icmp = flow({ proto: "icmp", sport: undefined, dport: undefined });
    const one = drops.watch(icmp, 0);
    const two = drops.watch(icmp, 0);
    const own = drops.watch(flow({ fromNode: "fw" }), 0);
    bus.publish(drop(ICMP));
    bus.publish(drop(SYN, { node: "fw", chain: "OUTPUT" }));
    expect(await settled(one.dropped)).toBe(false);
    expect(await settled(two.dropped)).toBe(false);
    expect(await settled(own.dropped)).toBe(false);
    drops.close();
  });
});

describe("an ICMP error about a flow", () => {
  const udp = flow({ proto: "udp", dport: 9999 });

  it("is the flow's answer: dropped, it decides the flow's timeout; not another protocol's or host's", async () => {
    const unreachable = packetOf_(UNREACHABLE);
    expect(packetOf(udp, unreachable)).toBe(true);
    expect(packetOf(flow(), unreachable)).toBe(false); // it quotes UDP, the flow is TCP
    expect(packetOf(udp, { ...unreachable, src: "10.0.2.53" })).toBe(false); // another host's error
    const bus = new EventBus();
    const drops = new FlowVerdicts(bus);
    const tcp = drops.watch(flow(), 0);
    const w = drops.watch(udp, 0);
    bus.publish(drop(UNREACHABLE));
    expect(await w.dropped).toMatchObject({ ruleText: "policy DROP" });
    expect(await settled(tcp.dropped)).toBe(false);
    drops.close();
  });

  it("decides nothing when another flow it could be about shows in the traces, announced or not; no ping takes it", async () => {
    const bus = new EventBus();
    const drops = new FlowVerdicts(bus);
    const w = drops.watch(udp, 0);
    // Another probe's datagram to the same host on another port, its flow not announced yet.
    bus.publish(
      drop(UDP.replace("dst=10.0.2.53", "dst=10.0.2.80").replace("dport=53", "dport=53"), {
        verdict: "ACCEPT",
        ruleText: "-A FORWARD -j ACCEPT",
        rule: 1,
      }),
    );
    bus.publish(drop(UNREACHABLE));
    expect(await settled(w.dropped)).toBe(false);
    const ping = drops.watch(flow({ proto: "icmp", sport: undefined, dport: undefined }), 0);
    expect(
      packetOf(flow({ proto: "icmp", sport: undefined, dport: undefined }), packetOf_(UNREACHABLE)),
    ).toBe(false);
    bus.publish(drop(UNREACHABLE, { time: Date.now() + 2 }));
    expect(await settled(ping.dropped)).toBe(false);
    drops.close();
  });

  it("decides nothing while two flows it could be about are in flight (it names no ports)", async () => {
    const bus = new EventBus();
    const drops = new FlowVerdicts(bus);
    const one = drops.watch(udp, 0);
    const two = drops.watch({ ...udp, sport: 61003, dport: 9998 }, 0);
    bus.publish(drop(UNREACHABLE));
    expect(await settled(one.dropped)).toBe(false);
    expect(await settled(two.dropped)).toBe(false);
    two.close();
    bus.publish(drop(UNREACHABLE, { time: Date.now() + 2 }));
    expect(await one.dropped).toMatchObject({ ruleText: "policy DROP" });
    drops.close();
  });
});
