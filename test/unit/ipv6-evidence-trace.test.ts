import { describe, expect, it } from "vitest";
import { parseNftMonitorTrace } from "../../src/evidence/parse-nft-monitor-trace.ts";
import { parseTraceLine } from "../../src/evidence/parse-trace.ts";
import { packetOf, type WatchedFlow } from "../../src/scenarios/flow-verdicts.ts";

// Recorded on kernel 6.18, nftables 1.0.6, from a firewall container (lan: 2001:db8:1::1) and a
// client namespace (2001:db8:1::10): a ping, a TCP SYN to port 2224 and a UDP datagram to port
// 9998 from the client, traced from an ip6 table's prerouting chain (`meta nftrace set 1`)
// through ip6 and inet tables; read with fwlab's reader and with `nft monitor trace` at once.
const V6 = {
  syn: "trace id=a560452a type=rule table=f6 chain=input handle=2 verdict=accept family=ip6 iif=lan src=2001:0db8:0001:0000:0000:0000:0000:0010 dst=2001:0db8:0001:0000:0000:0000:0000:0001 len=80 ttl=64 proto=tcp sport=48026 dport=2224 flags=SYN",
  echo: "trace id=fcf55915 type=rule table=fwlab_trace chain=pre handle=2 verdict=continue family=ip6 iif=lan src=2001:0db8:0001:0000:0000:0000:0000:0010 dst=2001:0db8:0001:0000:0000:0000:0000:0001 len=104 ttl=64 proto=icmpv6 icmptype=128 icmpcode=0",
  inetUdp:
    "trace id=3971ee16 type=rule table=fi chain=input handle=2 verdict=drop family=inet iif=lan src=2001:0db8:0001:0000:0000:0000:0000:0010 dst=2001:0db8:0001:0000:0000:0000:0000:0001 len=51 ttl=64 proto=udp sport=58727 dport=9998",
  out: "trace id=c4b5aa39 type=rule table=fwlab_out chain=o handle=2 verdict=continue family=ip6 oif=lan src=2001:0db8:0001:0000:0000:0000:0000:0001 dst=2001:0db8:0001:0000:0000:0000:0000:0010 len=104 ttl=64 proto=icmpv6 icmptype=128 icmpcode=0",
};

describe("parseTraceLine: IPv6 (fwlab's nftrace reader)", () => {
  it("compresses the reader's expanded addresses; the hop limit is the packet's ttl", () => {
    expect(parseTraceLine(V6.syn)).toMatchObject({
      family: "ip6",
      table: "f6",
      handle: 2,
      verdict: "ACCEPT",
    });
    expect(parseTraceLine(V6.syn)!.packet).toEqual({
      packetId: "a560452a",
      in: "lan",
      out: undefined,
      src: "2001:db8:1::10",
      dst: "2001:db8:1::1",
      proto: "tcp",
      sport: 48026,
      dport: 2224,
      flags: ["SYN"],
      ttl: 64,
      icmpType: undefined,
    });
    expect(parseTraceLine(V6.echo)!.packet).toMatchObject({
      proto: "other",
      icmpType: 128,
      sport: undefined,
    });
    expect(parseTraceLine(V6.out)!.packet).toMatchObject({ in: undefined, out: "lan", src: "2001:db8:1::1" });
  });
  it("reads inet tables' lines as ip6 ones", () => {
    expect(parseTraceLine(V6.inetUdp)).toMatchObject({ family: "inet", verdict: "DROP", handle: 2 });
    expect(parseTraceLine(V6.inetUdp)!.packet).toMatchObject({
      proto: "udp",
      src: "2001:db8:1::10",
      dport: 9998,
    });
  });
  it("keys IPv6 packets to flows by addresses and ports, as IPv4 ones", () => {
    const flow: WatchedFlow = {
      lab: "l",
      fromNode: "client",
      src: ["2001:db8:1::10"],
      proto: "tcp",
      dst: "2001:db8:1::1",
      dport: 2224,
      sport: 48026,
    };
    expect(packetOf(flow, parseTraceLine(V6.syn)!.packet!)).toBe(true);
    expect(
      packetOf({ ...flow, proto: "udp", dport: 9998, sport: undefined }, parseTraceLine(V6.inetUdp)!.packet!),
    ).toBe(true);
    expect(packetOf({ ...flow, dport: 22 }, parseTraceLine(V6.syn)!.packet!)).toBe(false);
  });
});

describe("parseNftMonitorTrace", () => {
  it("reads an ip6 table's packet line: addresses, ports, flags, hop limit", () => {
    const t = parseNftMonitorTrace(
      'trace id a560452a ip6 fwlab_trace pre packet: iif "lan" ether saddr 02:42:0a:00:01:0a ether daddr 02:42:0a:00:01:01 ip6 saddr 2001:db8:1::10 ip6 daddr 2001:db8:1::1 ip6 dscp cs0 ip6 ecn not-ect ip6 hoplimit 64 ip6 flowlabel 352014 ip6 length 40 tcp sport 48026 tcp dport 2224 tcp flags == syn tcp window 64800 ',
    );
    expect(t).toEqual({
      kind: "packet",
      packetId: "a560452a",
      family: "ip6",
      table: "fwlab_trace",
      chain: "pre",
      // The same packet as fwlab's reader gives (V6.syn): one packet, one key.
      packet: parseTraceLine(V6.syn)!.packet,
    });
  });
  it("reads inet packet lines of ICMPv6 and UDP, an output packet, and an IPv4 one", () => {
    const echo = parseNftMonitorTrace(
      'trace id fcf55915 inet fi input packet: iif "lan" ether saddr 02:42:0a:00:01:0a ether daddr 02:42:0a:00:01:01 ip6 saddr 2001:db8:1::10 ip6 daddr 2001:db8:1::1 ip6 dscp cs0 ip6 ecn not-ect ip6 hoplimit 64 ip6 flowlabel 642416 ip6 nexthdr ipv6-icmp ip6 length 64 icmpv6 type echo-request icmpv6 code no-route icmpv6 parameter-problem 5963777 @th,64,96 0xa5d60d6b00000000103c0200 ',
    );
    expect(echo).toMatchObject({
      kind: "packet",
      family: "inet",
      packet: { proto: "other", icmpType: 128, ttl: 64 },
    });
    const udp = parseNftMonitorTrace(
      'trace id 3971ee16 inet fi input packet: iif "lan" ether saddr 02:42:0a:00:01:0a ether daddr 02:42:0a:00:01:01 ip6 saddr 2001:db8:1::10 ip6 daddr 2001:db8:1::1 ip6 dscp cs0 ip6 ecn not-ect ip6 hoplimit 64 ip6 flowlabel 4089 ip6 nexthdr udp ip6 length 11 udp sport 58727 udp dport 9998 udp length 11 @th,64,24 0x68690a ',
    );
    expect(udp).toMatchObject({ packet: { proto: "udp", sport: 58727, dport: 9998, flags: [] } });
    const ns = parseNftMonitorTrace(
      'trace id ef3cc19f ip6 fwlab_out o packet: oif "lan" ip6 saddr fe80::42:aff:fe00:101 ip6 daddr fe80::42:aff:fe00:10a ip6 dscp cs0 ip6 ecn not-ect ip6 hoplimit 255 ip6 flowlabel 0 ip6 length 32 icmpv6 type nd-neighbor-solicit icmpv6 code no-route icmpv6 parameter-problem 0 @th,64,96 0xfe8000000000000000420aff ',
    );
    expect(ns).toMatchObject({
      packet: { in: undefined, out: "lan", src: "fe80::42:aff:fe00:101", icmpType: 135, ttl: 255 },
    });
    const v4 = parseNftMonitorTrace(
      'trace id 4cd3fa72 ip fwlab4 o packet: oif "lan" ip saddr 10.0.1.1 ip daddr 10.0.1.10 ip dscp cs0 ip ecn not-ect ip ttl 64 ip id 34124 ip length 30 udp sport 47154 udp dport 5353 udp length 10 @th,64,16 0x780a ',
    );
    expect(v4).toMatchObject({
      packet: { src: "10.0.1.1", dst: "10.0.1.10", proto: "udp", dport: 5353, ttl: 64 },
    });
  });
  it("reads TCP flags given as a bit mask", () => {
    const synAck = parseNftMonitorTrace(
      'trace id d5ce151a ip6 fwlab_out o packet: oif "lan" ip6 saddr 2001:db8:1::1 ip6 daddr 2001:db8:1::10 ip6 dscp cs0 ip6 ecn not-ect ip6 hoplimit 64 ip6 flowlabel 147192 ip6 length 40 tcp sport 2227 tcp dport 44302 tcp flags == 0x12 tcp window 64260 ',
    );
    expect(synAck).toMatchObject({ packet: { flags: ["SYN", "ACK"], sport: 2227, dport: 44302 } });
  });
  it("reads rule lines (with and without -a's handle) and policy lines", () => {
    expect(
      parseNftMonitorTrace(
        "trace id a560452a ip6 f6 input rule tcp dport 2224 counter packets 0 bytes 0 accept (verdict accept)",
      ),
    ).toEqual({
      kind: "step",
      line: {
        packetId: "a560452a",
        family: "ip6",
        table: "f6",
        chain: "input",
        what: "rule",
        verdict: "ACCEPT",
        handle: 0,
      },
      ruleText: "tcp dport 2224 counter packets 0 bytes 0 accept",
    });
    expect(
      parseNftMonitorTrace(
        "trace id 15a1a1da inet fi input rule meta l4proto tcp jump usr # handle 5 (verdict jump usr)",
      ),
    ).toMatchObject({
      line: { what: "rule", verdict: "JUMP", handle: 5 },
      ruleText: "meta l4proto tcp jump usr",
    });
    expect(
      parseNftMonitorTrace("trace id 3971ee16 inet fi input rule udp dport 9998 drop (verdict drop)"),
    ).toMatchObject({
      line: { family: "inet", verdict: "DROP" },
    });
    expect(parseNftMonitorTrace("trace id fcf55915 ip6 fwlab_trace pre policy accept ")).toMatchObject({
      kind: "step",
      line: { what: "policy", verdict: "ACCEPT", handle: 0 },
    });
    expect(parseNftMonitorTrace("ready")).toBeUndefined();
  });
});
