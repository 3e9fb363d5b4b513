import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { AddressBook, type AddressHolder } from "../../src/evidence/address-book.ts";
import { type CtFrame, ctFrames, parseCtMessages } from "../../src/evidence/ctnetlink.ts";
import { EventBus } from "../../src/evidence/event-bus.ts";
import type { EvidenceEvent } from "../../src/evidence/events.ts";
import { parseConntrackEntry } from "../../src/evidence/parse-conntrack.ts";
import { parseKmsgRecord, parseLogLine } from "../../src/evidence/parse-log-line.ts";
import { handleKey, ruleHandles } from "../../src/firewall/rule-handles.ts";

// Lines recorded from the default lab (iptables 1.8.9, conntrack-tools 1.4.7, kernel 6.18).
describe("parseLogLine", () => {
  it("reads every field of a forwarded TCP SYN", () => {
    const l = parseLogLine(
      "ssh_drop IN=lan OUT=dmz MAC=02:42:0a:00:01:01:02:42:0a:00:01:0a:08:00 SRC=10.0.1.10 DST=10.0.2.22 LEN=60 TOS=0x00 PREC=0x00 TTL=63 ID=4242 DF PROTO=TCP SPT=41234 DPT=22 WINDOW=64240 RES=0x00 SYN URGP=0 ",
    )!;
    expect(l.prefix).toBe("ssh_drop");
    expect(l.fields).toMatchObject({
      in: "lan",
      out: "dmz",
      src: "10.0.1.10",
      dst: "10.0.2.22",
      len: 60,
      tos: "0x00",
      ttl: 63,
      id: 4242,
      proto: "TCP",
      spt: 41234,
      dpt: 22,
      tcpFlags: ["SYN"],
    });
  });
  it("reads --log-macdecode's MAC in three fields, sequence numbers and TCP options as the default line", () => {
    const l = parseLogLine(
      "web-in IN=lan OUT=dmz MACSRC=02:42:0a:00:01:0a MACDST=02:42:0a:00:01:01 MACPROTO=0800 SRC=10.0.1.10 DST=10.0.2.80 LEN=52 TOS=0x00 PREC=0x00 TTL=63 ID=30202 DF PROTO=TCP SPT=61064 DPT=80 SEQ=1318945070 ACK=3681233277 WINDOW=63 RES=0x00 ACK URGP=0 OPT (0101080ABADEEBA645536E07) UID=0 GID=0 ",
    )!;
    expect(l.prefix).toBe("web-in");
    expect(l.fields).toMatchObject({
      mac: "02:42:0a:00:01:01:02:42:0a:00:01:0a:08:00",
      src: "10.0.1.10",
      dpt: 80,
      tcpFlags: ["ACK"],
    });
  });
  it("keeps the IP id of an ICMP echo (its echo id comes later under the same name)", () => {
    const l = parseLogLine(
      "fwd-icmp IN=lan OUT=dmz MAC=02:42:0a:00:01:01:02:42:0a:00:01:0a:08:00 SRC=10.0.1.10 DST=10.0.2.80 LEN=84 TOS=0x00 PREC=0x00 TTL=63 ID=38297 DF PROTO=ICMP TYPE=8 CODE=0 ID=65426 SEQ=1 ",
    )!;
    expect(l.fields).toMatchObject({ id: 38297, icmpType: 8, icmpCode: 0, proto: "ICMP" });
  });
  it("reads a local output line (no IN, no MAC) and a rule without prefix", () => {
    const l = parseLogLine(
      "IN= OUT=wan SRC=198.51.100.1 DST=198.51.100.53 LEN=56 TOS=0x00 PREC=0x00 TTL=64 ID=1 PROTO=UDP SPT=5353 DPT=53 LEN=36 ",
    )!;
    expect(l.prefix).toBe("");
    expect(l.fields).toMatchObject({
      in: undefined,
      out: "wan",
      mac: undefined,
      proto: "UDP",
      spt: 5353,
      dpt: 53,
      len: 56,
    });
  });
  it("leaves the packet quoted inside an ICMP error out of the fields", () => {
    const l = parseLogLine(
      "rej IN=dmz OUT=lan SRC=10.0.2.1 DST=10.0.1.10 LEN=88 TTL=64 ID=9 PROTO=ICMP TYPE=3 CODE=10 [SRC=10.0.1.10 DST=10.0.2.80 LEN=60 PROTO=TCP SPT=1 DPT=80 ] ",
    )!;
    expect(l.fields).toMatchObject({ src: "10.0.2.1", icmpType: 3, icmpCode: 10, spt: undefined });
  });
  it("is not fooled by other kernel messages", () => {
    expect(parseLogLine("eth0: renamed from veth123")).toBeUndefined();
  });
  it("reads /dev/kmsg records", () => {
    expect(parseKmsgRecord("4,5856,2292526604,-;fwd-log IN=lan OUT=dmz")).toEqual({
      seq: 5856,
      usec: 2292526604,
      text: "fwd-log IN=lan OUT=dmz",
    });
  });
});

describe("conntrack netlink messages (ctevents)", () => {
  // Recorded from the default lab's firewall: ctevents' frames while a ping and a TCP connection
  // crossed fw and the ping's entry was deleted (nf_conntrack_timestamp on).
  const frames: CtFrame[] = [];
  ctFrames((f) => frames.push(f))(readFileSync("test/fixtures/ctnetlink/events.bin"));
  const events = frames.filter((f) => f.kind === "E").flatMap((f) => parseCtMessages(f.payload));

  it("splits the reader's frames: the first table dump, ready, then events", () => {
    expect(frames.map((f) => f.kind).slice(0, 3)).toEqual(["D", "R", "E"]);
  });
  it("reads NEW, UPDATE and DESTROY events with tuples, TCP states, flags and conntrack ids", () => {
    expect(events.map((e) => [e.type, e.entry.proto, e.entry.state ?? "-"])).toEqual([
      ["NEW", "icmp", "-"],
      ["UPDATE", "icmp", "-"],
      ["NEW", "tcp", "SYN_SENT"],
      ["UPDATE", "tcp", "SYN_RECV"],
      ["UPDATE", "tcp", "ESTABLISHED"],
      ["UPDATE", "tcp", "FIN_WAIT"],
      ["UPDATE", "tcp", "LAST_ACK"],
      ["UPDATE", "tcp", "TIME_WAIT"],
      ["DESTROY", "icmp", "-"],
    ]);
    const syn = events[2]!.entry;
    expect(syn).toMatchObject({
      timeout: 120,
      unreplied: true,
      assured: false,
      nat: { snat: false, dnat: false },
    });
    expect(syn.original).toEqual({
      src: "10.0.1.10",
      dst: "10.0.2.80",
      sport: 38596,
      dport: 80,
      type: undefined,
      code: undefined,
      id: undefined,
    });
    expect(syn.reply).toMatchObject({ src: "10.0.2.80", dst: "10.0.1.10", sport: 80, dport: 38596 });
    expect(events[4]!.entry).toMatchObject({ assured: true, unreplied: false, ctId: syn.ctId });
    expect(events[0]!.entry.original).toMatchObject({ type: 8, code: 0, id: 62945 });
  });
  it("gives a DESTROY the kernel's times: when its entry began and ended", () => {
    const d = events.at(-1)!;
    expect(d.timeMs).toBeCloseTo(1796042025754.68, 1);
    expect(d.startMs).toBeLessThan(d.timeMs!);
    expect(d.entry.ctId).toBe(events[0]!.entry.ctId);
  });
});

describe("parseConntrackEntry", () => {
  it("tells ICMP's id from conntrack's id", () => {
    const e = parseConntrackEntry(
      "ipv4     2 icmp     1 26 src=10.0.1.10 dst=10.0.2.80 type=8 code=0 id=65408 src=10.0.2.80 dst=10.0.1.10 type=0 code=0 id=65408 mark=0 use=1 id=1765944360",
    )!;
    expect(e.original).toMatchObject({ type: 8, code: 0, id: 65408 });
    expect(e.reply).toMatchObject({ type: 0, id: 65408 });
    expect(e).toMatchObject({ ctId: 1765944360, mark: 0, state: undefined, timeout: 26 });
  });
  it("sees NAT in the tuples: MASQUERADE changes where replies go", () => {
    const e = parseConntrackEntry(
      "tcp      6 431999 ESTABLISHED src=10.0.1.10 dst=198.51.100.10 sport=40000 dport=80 src=198.51.100.10 dst=198.51.100.1 sport=80 dport=40000 [ASSURED] mark=0 zone=3 helper=ftp use=1",
    )!;
    expect(e.nat).toEqual({ snat: true, dnat: false });
    expect(e).toMatchObject({ assured: true, zone: 3, helper: "ftp" });
  });
});

describe("ruleHandles", () => {
  // Recorded from the default lab's firewall: `nft -a list ruleset` and `iptables-nft-save`.
  const listing = [
    "table ip filter { # handle 1",
    "\tchain FORWARD { # handle 1",
    "\t\ttype filter hook forward priority filter; policy accept;",
    "\t\ttcp dport 22 ct state new  counter packets 0 bytes 0 accept # handle 2",
    "\t\tcounter packets 3 bytes 180 drop # handle 3",
    "\t}",
    "",
    "\tchain USR { # handle 4",
    "\t\tcounter packets 0 bytes 0 return # handle 5",
    "\t}",
    "}",
    "table inet mine { # handle 7",
    "\tset ports { # handle 2",
    "\t\ttype inet_service",
    "\t\telements = { 22, 80 }",
    "\t}",
    "\tchain input { # handle 1",
    "\t\ttype filter hook input priority filter; policy drop;",
    "\t\ttcp dport @ports accept # handle 3",
    "\t}",
    "}",
  ].join("\n");
  const save = [
    "*filter",
    ":INPUT ACCEPT [0:0]",
    ":FORWARD ACCEPT [0:0]",
    ":USR - [0:0]",
    '-A FORWARD -p tcp -m tcp --dport 22 -m conntrack --ctstate NEW -m comment --comment "hi there" -j ACCEPT',
    "-A FORWARD -j DROP",
    "-A USR -j RETURN",
    "COMMIT",
  ].join("\n");
  it("numbers and writes each rule of a trace by its handle: iptables text where iptables made it", () => {
    const rules = ruleHandles(listing, save);
    expect(rules.get(handleKey("ip", "filter", "FORWARD", 2))).toEqual({
      num: 1,
      text: '-A FORWARD -p tcp -m tcp --dport 22 -m conntrack --ctstate NEW -m comment --comment "hi there" -j ACCEPT',
    });
    expect(rules.get(handleKey("ip", "filter", "FORWARD", 3))).toEqual({
      num: 2,
      text: "-A FORWARD -j DROP",
    });
    expect(rules.get(handleKey("ip", "filter", "USR", 5))).toEqual({ num: 1, text: "-A USR -j RETURN" });
    // nft's own tables keep nft's text (counters left out); sets are not chains.
    expect(rules.get(handleKey("inet", "mine", "input", 3))).toEqual({
      num: 1,
      text: "tcp dport @ports accept",
    });
    expect(rules.size).toBe(4);
  });
});

describe("AddressBook", () => {
  const book = new AddressBook(
    new Map<string, AddressHolder[]>([
      [
        "a",
        [
          { name: "fw", addresses: { lan: "10.0.1.1", dmz: "10.0.2.1" } },
          { name: "client", addresses: { lan: "10.0.1.10" } },
        ],
      ],
      ["b", [{ name: "fw", addresses: { inside: "10.50.1.1" } }]],
      // A lab file that names its interfaces as a classic script expects them.
      ["c", [{ name: "gw", addresses: { outside: "203.0.113.2" }, ifnames: { outside: "eth0" } }]],
    ]),
  );
  it("attributes a received packet by the MAC it was sent to, and a sent one by its source", () => {
    expect(
      book.attribute({
        in: "lan",
        mac: "02:42:0a:00:01:01:02:42:0a:00:01:0a:08:00",
        src: "10.0.1.10",
        dst: "10.0.2.80",
      }),
    ).toEqual({ lab: "a", node: "fw" });
    expect(book.attribute({ out: "lan", src: "10.0.1.10", dst: "10.0.1.1" })).toEqual({
      lab: "a",
      node: "client",
    });
    expect(
      book.attribute({ in: "inside", mac: "02:42:0a:32:01:01:02:42:0a:32:01:0a:08:00", src: "10.50.1.10" }),
    ).toEqual({ lab: "b", node: "fw" });
    expect(
      book.attribute({ in: "eth0", mac: "02:42:ac:11:00:02:02:42:ac:11:00:01:08:00", src: "172.17.0.1" }),
    ).toBeUndefined();
  });

  it("knows a node's interfaces by the names the lab file gives them", () => {
    const syn = { src: "203.0.113.10", dst: "203.0.113.2" };
    expect(book.attribute({ in: "eth0", mac: "02:42:cb:00:71:02:02:42:cb:00:71:0a:08:00", ...syn })).toEqual({
      lab: "c",
      node: "gw",
    });
    expect(book.attribute({ in: "eth0", ...syn })).toEqual({ lab: "c", node: "gw" });
    expect(
      book.attribute({ in: "outside", mac: "02:42:cb:00:71:02:02:42:cb:00:71:0a:08:00", ...syn }),
    ).toBeUndefined();
  });
});

describe("EventBus", () => {
  it("bounds each subscriber's queue and reports what it dropped", async () => {
    const bus = new EventBus(10);
    const got: EvidenceEvent[] = [];
    bus.subscribe((e) => got.push(e));
    for (let i = 0; i < 25; i++) bus.publish({ kind: "notice", level: "info", message: String(i), time: i });
    await new Promise((r) => setImmediate(r));
    expect(got[0]).toMatchObject({ kind: "loss", source: "bus", lost: 15 });
    expect(got.slice(1).map((e) => (e.kind === "notice" ? e.message : ""))).toEqual([
      "15",
      "16",
      "17",
      "18",
      "19",
      "20",
      "21",
      "22",
      "23",
      "24",
    ]);
  });
});

describe("parseLogLine echo fields", () => {
  it("reads an echo request's id and sequence number, as NFLOG through ulogd prints it too", () => {
    const l = parseLogLine(
      "nf-echo IN=lan OUT=dmz MAC=02:42:0a:00:01:01:02:42:0a:00:01:0a:08:00 SRC=10.0.1.10 DST=10.0.2.80 LEN=84 TOS=00 PREC=0x00 TTL=63 ID=23852 DF PROTO=ICMP TYPE=8 CODE=0 ID=47220 SEQ=7 MARK=0x0 ",
    )!;
    expect(l.fields).toMatchObject({ id: 23852, icmpId: 47220, icmpSeq: 7 });
  });
});

describe("parseLogLine prefixes", () => {
  it("splits a prefix written without a trailing space from IN= (as seed 000 writes them)", () => {
    const l = parseLogLine(
      "ssh_acceptIN=lan OUT= MAC=02:42:0a:00:01:01:02:42:0a:00:01:0a:08:00 SRC=10.0.1.10 DST=10.0.1.1 LEN=60 TTL=64 ID=1 DF PROTO=TCP SPT=40000 DPT=22 SYN ",
    )!;
    expect(l.prefix).toBe("ssh_accept");
    expect(l.fields).toMatchObject({ in: "lan", dpt: 22, tcpFlags: ["SYN"] });
  });
});
