import { describe, expect, it } from "vitest";
import { parseCtMessages } from "../../src/evidence/ctnetlink.ts";
import { formatConntrack } from "../../src/evidence/format-event.ts";
import { parseConntrackEntry, parseConntrackEvent } from "../../src/evidence/parse-conntrack.ts";

// Recorded on kernel 6.18 with conntrack-tools 1.4.7, from a firewall container and a client
// namespace (2001:db8:1::10) on its veth "lan" (2001:db8:1::1): a TCP connection from the
// firewall to the client, a ping from the client, then `conntrack -D -f ipv6 -p icmpv6`.
describe("parseConntrackEntry: IPv6", () => {
  it("reads `conntrack -L -o id,extended` lines of TCP and ICMPv6", () => {
    const tcp = parseConntrackEntry(
      "ipv6     10 tcp      6 118 TIME_WAIT src=2001:db8:1::1 dst=2001:db8:1::10 sport=33272 dport=2225 src=2001:db8:1::10 dst=2001:db8:1::1 sport=2225 dport=33272 [ASSURED] mark=0 use=1 id=2713689628",
    )!;
    expect(tcp).toMatchObject({
      family: 6,
      proto: "tcp",
      state: "TIME_WAIT",
      timeout: 118,
      assured: true,
      ctId: 2713689628,
      nat: { snat: false, dnat: false },
    });
    expect(tcp.original).toMatchObject({
      src: "2001:db8:1::1",
      dst: "2001:db8:1::10",
      sport: 33272,
      dport: 2225,
    });
    // ICMPv6 tuples hold an id= too: not conntrack's own.
    const icmp = parseConntrackEntry(
      "ipv6     10 icmpv6   58 28 src=2001:db8:1::10 dst=2001:db8:1::1 type=128 code=0 id=128 src=2001:db8:1::1 dst=2001:db8:1::10 type=129 code=0 id=128 mark=0 use=1 id=1411887091",
    )!;
    expect(icmp).toMatchObject({
      family: 6,
      proto: "icmpv6",
      state: undefined,
      timeout: 28,
      ctId: 1411887091,
    });
    expect(icmp.original).toEqual({
      src: "2001:db8:1::10",
      dst: "2001:db8:1::1",
      sport: undefined,
      dport: undefined,
      type: 128,
      code: 0,
      id: 128,
    });
    expect(icmp.reply).toMatchObject({ src: "2001:db8:1::1", type: 129, id: 128 });
  });
  it("reads lines without -o extended: the family from the addresses", () => {
    const e = parseConntrackEntry(
      "icmpv6   58 28 src=2001:db8:1::10 dst=2001:db8:1::1 type=128 code=0 id=128 src=2001:db8:1::1 dst=2001:db8:1::10 type=129 code=0 id=128 mark=0 use=1",
    )!;
    expect(e).toMatchObject({ family: 6, proto: "icmpv6", ctId: undefined, original: { id: 128 } });
    expect(
      parseConntrackEntry(
        "tcp      6 431999 ESTABLISHED src=10.0.1.10 dst=198.51.100.10 sport=40000 dport=80 src=198.51.100.10 dst=198.51.100.1 sport=80 dport=40000 [ASSURED] mark=0 use=1",
      )?.family,
    ).toBe(4);
  });
});

describe("parseConntrackEvent", () => {
  it("reads `conntrack -E -o timestamp,extended,id` lines: type, time, entry", () => {
    const e = parseConntrackEvent(
      "[1796069048.061378]\t    [NEW] ipv6     10 tcp      6 120 SYN_SENT src=2001:db8:1::1 dst=2001:db8:1::10 sport=33272 dport=2225 [UNREPLIED] src=2001:db8:1::10 dst=2001:db8:1::1 sport=2225 dport=33272 id=2713689628",
    )!;
    expect(e.type).toBe("NEW");
    expect(e.timeMs).toBeCloseTo(1796069048061.378, 2);
    expect(e.entry).toMatchObject({
      family: 6,
      state: "SYN_SENT",
      unreplied: true,
      ctId: 2713689628,
      reply: { src: "2001:db8:1::10", sport: 2225 },
    });
    const d = parseConntrackEvent(
      "[1796069067.128881]\t[DESTROY] ipv6     10 icmpv6   58 29 src=2001:db8:1::10 dst=2001:db8:1::1 type=128 code=0 id=155 src=2001:db8:1::1 dst=2001:db8:1::10 type=129 code=0 id=155 id=264246440 [USERSPACE] portid=3454860205 progname=conntrack",
    )!;
    expect(d).toMatchObject({
      type: "DESTROY",
      entry: { proto: "icmpv6", ctId: 264246440, original: { id: 155 } },
    });
  });
  it("reads plain `conntrack -E` lines, and nothing else", () => {
    const e = parseConntrackEvent(
      " [UPDATE] icmpv6   58 30 src=2001:db8:1::10 dst=2001:db8:1::1 type=128 code=0 id=128 src=2001:db8:1::1 dst=2001:db8:1::10 type=129 code=0 id=128",
    )!;
    expect(e).toMatchObject({
      type: "UPDATE",
      timeMs: undefined,
      entry: { unreplied: false, reply: { type: 129 } },
    });
    expect(
      parseConntrackEvent("conntrack v1.4.7 (conntrack-tools): 9 flow events have been shown."),
    ).toBeUndefined();
  });
});

// ctevents' frame payloads (images/common/usr/local/lib/fwlab/ctevents) in the same recording.
const NEW_TCP =
  "9AAAAAABAAYAAAAAAAAAAAoAAABMAAGALAABgBQAAwAgAQ24AAEAAAAAAAAAAAABFAAEACABDbgAAQAAAAAAAAAAABAcAAKABQABAAYAAAAGAAIAgfgAAAYAAwAIsQAATAACgCwAAYAUAAMAIAENuAABAAAAAAAAAAAAEBQABAAgAQ24AAEAAAAAAAAAAAABHAACgAUAAQAGAAAABgACAAixAAAGAAMAgfgAAAgADAChv54cCAADAAAAAAgIAAcAAAAAeDAABIAsAAGABQABAAEAAAAFAAIACgAAAAUAAwAAAAAABgAEAAMAAAAGAAUAAAAAAA==";
const DUMP =
  "5AAAAAABAgABAAAAOTtohQoAAABUAAGALAABgBQAAwAgAQ24AAEAAAAAAAAAAAAQFAAEACABDbgAAQAAAAAAAAAAAAEkAAKABQABADoAAAAGAAcAAIAAAAUACACAAAAABQAJAAAAAABUAAKALAABgBQAAwAgAQ24AAEAAAAAAAAAAAABFAAEACABDbgAAQAAAAAAAAAAABAkAAKABQABADoAAAAGAAcAAIAAAAUACACBAAAABQAJAAAAAAAIAAMAAAAACggACAAAAAAACAAMAFQnr/MIAAsAAAAAAQgABwAAAAAMBAEAAAABAgABAAAAOTtohQoAAABMAAGALAABgBQAAwAgAQ24AAEAAAAAAAAAAAABFAAEACABDbgAAQAAAAAAAAAAABAcAAKABQABAAYAAAAGAAIAgfgAAAYAAwAIsQAATAACgCwAAYAUAAMAIAENuAABAAAAAAAAAAAAEBQABAAgAQ24AAEAAAAAAAAAAAABHAACgAUAAQAGAAAABgACAAixAAAGAAMAgfgAAAgAAwAAAAAOCAAIAAAAAAAIAAwAob+eHAgACwAAAAABCAAHAAAAAGYwAASALAABgAUAAQAHAAAABQACAAoAAAAFAAMACgAAAAYABAAnAAAABgAFACMAAAA=";
const DESTROY_ICMPV6 =
  "1AAAAAIBAAAAAAAArfvszQoAAABUAAGALAABgBQAAwAgAQ24AAEAAAAAAAAAAAAQFAAEACABDbgAAQAAAAAAAAAAAAEkAAKABQABADoAAAAGAAcAAJsAAAUACACAAAAABQAJAAAAAABUAAKALAABgBQAAwAgAQ24AAEAAAAAAAAAAAABFAAEACABDbgAAQAAAAAAAAAAABAkAAKABQABADoAAAAGAAcAAJsAAAUACACBAAAABQAJAAAAAAAIAAwAD8AUqAgAAwAAAAIKCAAHAAAAAB0=";
const messages = (b64: string, dump = false) => parseCtMessages(Buffer.from(b64, "base64"), dump);

describe("conntrack netlink messages: IPv6 (CTA_IP_V6_SRC/DST)", () => {
  it("reads a NEW TCP event as `conntrack -E` tells it", () => {
    const [m] = messages(NEW_TCP);
    expect(m).toMatchObject({ type: "NEW" });
    expect(m!.entry).toMatchObject({
      family: 6,
      proto: "tcp",
      state: "SYN_SENT",
      timeout: 120,
      unreplied: true,
      ctId: 2713689628,
      nat: { snat: false, dnat: false },
    });
    expect(m!.entry.original).toEqual({
      src: "2001:db8:1::1",
      dst: "2001:db8:1::10",
      sport: 33272,
      dport: 2225,
      type: undefined,
      code: undefined,
      id: undefined,
    });
    expect(m!.entry.reply).toMatchObject({ src: "2001:db8:1::10", dst: "2001:db8:1::1", sport: 2225 });
  });
  it("reads a table dump's ICMPv6 and TCP entries, and an ICMPv6 DESTROY", () => {
    const dump = messages(DUMP, true);
    expect(dump.map((m) => [m.type, m.entry.proto, m.entry.state ?? "-", m.entry.ctId])).toEqual([
      ["ENTRY", "icmpv6", "-", 1411887091],
      ["ENTRY", "tcp", "TIME_WAIT", 2713689628],
    ]);
    expect(dump[0]!.entry.original).toMatchObject({ src: "2001:db8:1::10", type: 128, code: 0, id: 128 });
    expect(dump[0]!.entry.reply).toMatchObject({ src: "2001:db8:1::1", type: 129, id: 128 });
    const [d] = messages(DESTROY_ICMPV6);
    expect(d).toMatchObject({ type: "DESTROY", entry: { family: 6, proto: "icmpv6", ctId: 264246440 } });
    expect(d!.entry.original).toMatchObject({ type: 128, id: 155 });
  });
  it("is written readably: IPv6 addresses with ports in brackets", () => {
    expect(formatConntrack(messages(NEW_TCP)[0]!.entry)).toBe(
      "tcp SYN_SENT [2001:db8:1::1]:33272 -> [2001:db8:1::10]:2225 [UNREPLIED] ttl 120s",
    );
    expect(formatConntrack(messages(DESTROY_ICMPV6)[0]!.entry)).toMatch(
      /^icmpv6 2001:db8:1::10 -> 2001:db8:1::1 type 128/,
    );
  });
});
