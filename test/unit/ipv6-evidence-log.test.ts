import { describe, expect, it } from "vitest";
import { parseLogLine } from "../../src/evidence/parse-log-line.ts";

// Recorded on kernel 6.18 (ip6tables 1.8.9 LOG, and ulogd2 as nflog-source.ts runs it for
// NFLOG), from a firewall container with a veth "lan" (2001:db8:1::1) to a client namespace
// (2001:db8:1::10).
describe("parseLogLine: IPv6 LOG lines", () => {
  it("reads a received ICMPv6 echo request: addresses compressed, the IPv6 header's fields, the echo id", () => {
    const l = parseLogLine(
      "t6in IN=lan OUT= MAC=02:42:0a:00:01:01:02:42:0a:00:01:0a:86:dd SRC=2001:0db8:0001:0000:0000:0000:0000:0010 DST=2001:0db8:0001:0000:0000:0000:0000:0001 LEN=104 TC=0 HOPLIMIT=64 FLOWLBL=642416 PROTO=ICMPv6 TYPE=128 CODE=0 ID=54 SEQ=1 ",
    )!;
    expect(l.prefix).toBe("t6in");
    expect(l.fields).toEqual({
      family: 6,
      in: "lan",
      out: undefined,
      mac: "02:42:0a:00:01:01:02:42:0a:00:01:0a:86:dd",
      src: "2001:db8:1::10",
      dst: "2001:db8:1::1",
      len: 104,
      proto: "ICMPv6",
      spt: undefined,
      dpt: undefined,
      tcpFlags: undefined,
      icmpType: 128,
      icmpCode: 0,
      // IPv6 has no IP id: the line's only ID= is the echo's.
      icmpId: 54,
      icmpSeq: 1,
      hopLimit: 64,
      trafficClass: 0,
      flowLabel: 642416,
      nextHeader: 58,
      fragment: undefined,
    });
    expect(l.fields.ttl).toBeUndefined();
    expect(l.fields.id).toBeUndefined();
  });
  it("reads a local output echo reply on lo", () => {
    const l = parseLogLine(
      "t6lo IN= OUT=lo SRC=0000:0000:0000:0000:0000:0000:0000:0001 DST=0000:0000:0000:0000:0000:0000:0000:0001 LEN=104 TC=0 HOPLIMIT=64 FLOWLBL=184730 PROTO=ICMPv6 TYPE=129 CODE=0 ID=31912 SEQ=1 ",
    )!;
    expect(l.fields).toMatchObject({
      family: 6,
      in: undefined,
      out: "lo",
      mac: undefined,
      src: "::1",
      dst: "::1",
      icmpType: 129,
      icmpId: 31912,
      flowLabel: 184730,
    });
  });
  it("reads a TCP SYN (flags, ports) and a UDP datagram (the first LEN is the packet's)", () => {
    const syn = parseLogLine(
      "t6in IN=lan OUT= MAC=02:42:0a:00:01:01:02:42:0a:00:01:0a:86:dd SRC=2001:0db8:0001:0000:0000:0000:0000:0010 DST=2001:0db8:0001:0000:0000:0000:0000:0001 LEN=80 TC=0 HOPLIMIT=64 FLOWLBL=88750 PROTO=TCP SPT=32940 DPT=2222 WINDOW=64800 RES=0x00 SYN URGP=0 ",
    )!;
    expect(syn.fields).toMatchObject({
      family: 6,
      proto: "TCP",
      nextHeader: 6,
      spt: 32940,
      dpt: 2222,
      tcpFlags: ["SYN"],
      len: 80,
      icmpType: undefined,
    });
    const udp = parseLogLine(
      "t6in IN=lan OUT= MAC=02:42:0a:00:01:01:02:42:0a:00:01:0a:86:dd SRC=2001:0db8:0001:0000:0000:0000:0000:0010 DST=2001:0db8:0001:0000:0000:0000:0000:0001 LEN=51 TC=0 HOPLIMIT=64 FLOWLBL=250973 PROTO=UDP SPT=34972 DPT=9999 LEN=11 ",
    )!;
    expect(udp.fields).toMatchObject({ proto: "UDP", nextHeader: 17, spt: 34972, dpt: 9999, len: 51 });
  });
  it("reads TCP with --log-tcp-sequence/--log-tcp-options: SEQ and ACK are not ICMP's, OPT is skipped", () => {
    const l = parseLogLine(
      "t6opt IN=lan OUT= MAC=02:42:0a:00:01:01:02:42:0a:00:01:0a:86:dd SRC=2001:0db8:0001:0000:0000:0000:0000:0010 DST=2001:0db8:0001:0000:0000:0000:0000:0001 LEN=80 TC=0 HOPLIMIT=64 FLOWLBL=977830 PROTO=TCP SPT=48286 DPT=2223 SEQ=1601724762 ACK=0 WINDOW=64800 RES=0x00 SYN URGP=0 OPT (020405A00402080AFA9D6EF4000000000103030A) ",
    )!;
    expect(l.fields).toMatchObject({ tcpFlags: ["SYN"], icmpSeq: undefined, dpt: 2223 });
  });
  it("leaves the packet an ICMPv6 error quotes out of the fields", () => {
    const l = parseLogLine(
      "t6err IN= OUT=lan SRC=2001:0db8:0001:0000:0000:0000:0000:0001 DST=2001:0db8:0001:0000:0000:0000:0000:0010 LEN=99 TC=0 HOPLIMIT=64 FLOWLBL=212408 PROTO=ICMPv6 TYPE=1 CODE=4 [SRC=2001:0db8:0001:0000:0000:0000:0000:0010 DST=2001:0db8:0001:0000:0000:0000:0000:0001 LEN=51 TC=0 HOPLIMIT=64 FLOWLBL=250973 PROTO=UDP SPT=34972 DPT=9999 LEN=11 ] ",
    )!;
    expect(l.fields).toMatchObject({
      src: "2001:db8:1::1",
      dst: "2001:db8:1::10",
      len: 99,
      icmpType: 1,
      icmpCode: 4,
      flowLabel: 212408,
      spt: undefined,
      dpt: undefined,
    });
  });
  it("reads the fragment header: the first fragment (more follow) has the ICMPv6 header, a later one not", () => {
    const first = parseLogLine(
      "t6frag2 IN=eth0 OUT= MAC=02:42:0a:00:01:0a:02:42:0a:00:01:01:86:dd SRC=2001:0db8:0001:0000:0000:0000:0000:0001 DST=2001:0db8:0001:0000:0000:0000:0000:0010 LEN=1496 TC=0 HOPLIMIT=64 FLOWLBL=642416 FRAG:0 INCOMPLETE ID:e6f4ff9f PROTO=ICMPv6 TYPE=128 CODE=0 ID=31915 SEQ=1 ",
    )!;
    expect(first.fields).toMatchObject({
      fragment: { offset: 0, more: true, id: 0xe6f4ff9f },
      icmpType: 128,
      icmpId: 31915,
    });
    const last = parseLogLine(
      "t6frag2 IN=eth0 OUT= MAC=02:42:0a:00:01:0a:02:42:0a:00:01:01:86:dd SRC=2001:0db8:0001:0000:0000:0000:0000:0001 DST=2001:0db8:0001:0000:0000:0000:0000:0010 LEN=608 TC=0 HOPLIMIT=64 FLOWLBL=642416 FRAG:1448 ID:e6f4ff9f PROTO=ICMPv6 ",
    )!;
    expect(last.fields).toMatchObject({
      fragment: { offset: 1448, more: false, id: 0xe6f4ff9f },
      proto: "ICMPv6",
      nextHeader: 58,
      icmpType: undefined,
    });
    // With --log-ip-options the same words come inside "OPT ( )".
    const opt = parseLogLine(
      "t6frag IN=lan OUT= MAC=02:42:0a:00:01:01:02:42:0a:00:01:0a:86:dd SRC=2001:0db8:0001:0000:0000:0000:0000:0010 DST=2001:0db8:0001:0000:0000:0000:0000:0001 LEN=1496 TC=0 HOPLIMIT=64 FLOWLBL=642416 OPT ( FRAG:0 INCOMPLETE ID:e34c9e5f ) PROTO=ICMPv6 TYPE=128 CODE=0 ID=70 SEQ=1 ",
    )!;
    expect(opt.fields).toMatchObject({ fragment: { offset: 0, more: true, id: 0xe34c9e5f }, icmpId: 70 });
  });
  it("gives IPv4 lines family 4 and no IPv6 fields", () => {
    const l = parseLogLine(
      "fwd-icmp IN=lan OUT=dmz MAC=02:42:0a:00:01:01:02:42:0a:00:01:0a:08:00 SRC=10.0.1.10 DST=10.0.2.80 LEN=84 TOS=0x00 PREC=0x00 TTL=63 ID=38297 DF PROTO=ICMP TYPE=8 CODE=0 ID=65426 SEQ=1 ",
    )!;
    expect(l.fields).toMatchObject({ family: 4, ttl: 63, id: 38297, icmpId: 65426 });
    expect(l.fields.hopLimit).toBeUndefined();
    expect(l.fields.nextHeader).toBeUndefined();
  });
});

describe("parseLogLine: IPv6 NFLOG lines (ulogd2, LOGEMU's date and host taken off)", () => {
  it("reads ulogd's compressed addresses, an empty MAC= and its extra fields", () => {
    const echo = parseLogLine(
      "nf6in IN=lan OUT= MAC=02:42:0a:00:01:01:02:42:0a:00:01:0a:86:dd SRC=2001:db8:1::10 DST=2001:db8:1::1 LEN=104 TC=0 HOPLIMIT=64 FLOWLBL=642416 PROTO=ICMPv6 TYPE=128 CODE=0 ID=175 SEQ=1 MARK=0x0 ",
    )!;
    expect(echo.prefix).toBe("nf6in");
    expect(echo.fields).toMatchObject({
      family: 6,
      src: "2001:db8:1::10",
      dst: "2001:db8:1::1",
      hopLimit: 64,
      trafficClass: 0,
      flowLabel: 642416,
      icmpType: 128,
      icmpId: 175,
      icmpSeq: 1,
    });
    const local = parseLogLine(
      "nf6lo IN= OUT=lo MAC= SRC=::1 DST=::1 LEN=104 TC=0 HOPLIMIT=64 FLOWLBL=554302 PROTO=ICMPv6 TYPE=128 CODE=0 ID=31913 SEQ=1 UID=0 GID=0 MARK=0x0 ",
    )!;
    expect(local.fields).toMatchObject({ family: 6, mac: undefined, src: "::1", icmpId: 31913 });
    const syn = parseLogLine(
      "nf6in IN=lan OUT= MAC=02:42:0a:00:01:01:02:42:0a:00:01:0a:86:dd SRC=2001:db8:1::10 DST=2001:db8:1::1 LEN=80 TC=0 HOPLIMIT=64 FLOWLBL=171268 PROTO=TCP SPT=58124 DPT=2222 SEQ=2307486265 ACK=0 WINDOW=64800 SYN URGP=0 MARK=0x0 ",
    )!;
    expect(syn.fields).toMatchObject({
      proto: "TCP",
      spt: 58124,
      dpt: 2222,
      tcpFlags: ["SYN"],
      nextHeader: 6,
    });
    const udp = parseLogLine(
      "nf6in IN=lan OUT= MAC=02:42:0a:00:01:01:02:42:0a:00:01:0a:86:dd SRC=2001:db8:1::10 DST=2001:db8:1::1 LEN=51 TC=0 HOPLIMIT=64 FLOWLBL=296666 PROTO=UDP SPT=40868 DPT=9999 LEN=11 MARK=0x0 ",
    )!;
    expect(udp.fields).toMatchObject({ proto: "UDP", spt: 40868, dpt: 9999, len: 51 });
  });
});
