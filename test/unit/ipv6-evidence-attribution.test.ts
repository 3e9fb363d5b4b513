import { describe, expect, it } from "vitest";
import { AddressBook, type AddressHolder } from "../../src/evidence/address-book.ts";
import { formatEvent, formatPacket } from "../../src/evidence/format-event.ts";
import { parseLogLine } from "../../src/evidence/parse-log-line.ts";

// LOG lines recorded on kernel 6.18 (a firewall's veth "lan", 2001:db8:1::1, to a client's,
// 2001:db8:1::10), attributed with a book of the default lab's dual-stack addresses.
const SYN_IN =
  "t6in IN=lan OUT= MAC=02:42:0a:00:01:01:02:42:0a:00:01:0a:86:dd SRC=2001:0db8:0001:0000:0000:0000:0000:0010 DST=2001:0db8:0001:0000:0000:0000:0000:0001 LEN=80 TC=0 HOPLIMIT=64 FLOWLBL=88750 PROTO=TCP SPT=32940 DPT=2222 WINDOW=64800 RES=0x00 SYN URGP=0 ";
const ERR_OUT =
  "t6err IN= OUT=lan SRC=2001:0db8:0001:0000:0000:0000:0000:0001 DST=2001:0db8:0001:0000:0000:0000:0000:0010 LEN=99 TC=0 HOPLIMIT=64 FLOWLBL=212408 PROTO=ICMPv6 TYPE=1 CODE=4 [SRC=2001:0db8:0001:0000:0000:0000:0000:0010 DST=2001:0db8:0001:0000:0000:0000:0000:0001 LEN=51 TC=0 HOPLIMIT=64 FLOWLBL=250973 PROTO=UDP SPT=34972 DPT=9999 LEN=11 ] ";

const book = new AddressBook(
  new Map<string, AddressHolder[]>([
    [
      "a",
      [
        {
          name: "fw",
          addresses: { lan: "10.0.1.1", dmz: "10.0.2.1" },
          // Written as a lab file may: not the compressed form.
          addresses6: { lan: "2001:DB8:1:0::1", dmz: "2001:db8:2::1" },
        },
        { name: "client", addresses: { lan: "10.0.1.10" }, addresses6: { lan: "2001:db8:1::10" } },
      ],
    ],
    // A node of an IPv4-only lab (no addresses6 at all).
    ["b", [{ name: "fw", addresses: { inside: "10.50.1.1" } }]],
  ]),
);

describe("AddressBook: IPv6", () => {
  it("knows IPv6 addresses in whatever form they are asked for", () => {
    expect(book.owner("2001:db8:1::1")).toEqual({ lab: "a", node: "fw", network: "lan", iface: "lan" });
    expect(book.owner("2001:0db8:0001:0000:0000:0000:0000:0010")).toEqual({
      lab: "a",
      node: "client",
      network: "lan",
      iface: "lan",
    });
    expect(book.owner("10.50.1.1")).toMatchObject({ lab: "b" });
  });
  it("attributes a received IPv6 frame by its MAC and a sent packet by its IPv6 source", () => {
    expect(book.attribute(parseLogLine(SYN_IN)!.fields)).toEqual({ lab: "a", node: "fw" });
    expect(book.attribute(parseLogLine(ERR_OUT)!.fields)).toEqual({ lab: "a", node: "fw" });
    // A received frame to a MAC no lab has, for a lab address on that network: its owner.
    expect(
      book.attribute({ in: "lan", mac: "33:33:ff:00:00:10:02:42:0a:00:01:01:86:dd", dst: "2001:db8:1::10" }),
    ).toEqual({ lab: "a", node: "client" });
  });
});

describe("formatted IPv6 evidence", () => {
  it("writes IPv6 addresses with a port in brackets, and the hop limit", () => {
    expect(formatPacket(parseLogLine(SYN_IN)!.fields)).toBe(
      "[2001:db8:1::10]:32940 -> [2001:db8:1::1]:2222 TCP SYN 80B hlim 64 (in lan)",
    );
    expect(formatPacket(parseLogLine(ERR_OUT)!.fields)).toBe(
      "2001:db8:1::1 -> 2001:db8:1::10 ICMPv6 type 1 code 4 99B hlim 64 (out lan)",
    );
  });
  it("leaves IPv4 as it was", () => {
    const f = parseLogLine(
      "ssh_drop IN=lan OUT=dmz MAC=02:42:0a:00:01:01:02:42:0a:00:01:0a:08:00 SRC=10.0.1.10 DST=10.0.2.22 LEN=60 TOS=0x00 PREC=0x00 TTL=63 ID=4242 DF PROTO=TCP SPT=41234 DPT=22 WINDOW=64240 RES=0x00 SYN URGP=0 ",
    )!.fields;
    expect(formatPacket(f)).toBe("10.0.1.10:41234 -> 10.0.2.22:22 TCP SYN 60B ttl 63 (in lan out dmz)");
  });
  it("writes a packet-log event line", () => {
    const line = parseLogLine(SYN_IN)!;
    expect(
      formatEvent({
        kind: "packet-log",
        source: "LOG",
        lab: "a",
        node: "fw",
        prefix: line.prefix,
        fields: line.fields,
        time: Date.UTC(2026, 0, 1, 12, 0, 0, 5),
      }),
    ).toBe(
      '12:00:00.005 a/fw LOG "t6in" [2001:db8:1::10]:32940 -> [2001:db8:1::1]:2222 TCP SYN 80B hlim 64 (in lan)',
    );
  });
});
