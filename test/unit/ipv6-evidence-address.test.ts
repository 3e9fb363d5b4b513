import { describe, expect, it } from "vitest";
import { compressIpv6, ipv6FromBytes, isIpv6 } from "../../src/util/ipv6.ts";

describe("compressIpv6", () => {
  it("compresses the kernel's fully expanded addresses to the form lab files write", () => {
    // As LOG and fwlab's trace reader print them.
    expect(compressIpv6("2001:0db8:0001:0000:0000:0000:0000:0010")).toBe("2001:db8:1::10");
    expect(compressIpv6("0000:0000:0000:0000:0000:0000:0000:0001")).toBe("::1");
    expect(compressIpv6("0000:0000:0000:0000:0000:0000:0000:0000")).toBe("::");
    expect(compressIpv6("fe80:0000:0000:0000:0042:0aff:fe00:0101")).toBe("fe80::42:aff:fe00:101");
    expect(compressIpv6("FF02:0000:0000:0000:0000:0000:0000:0001")).toBe("ff02::1");
  });
  it("follows RFC 5952: the longest run of zeros (the first of equals), never a single zero group", () => {
    expect(compressIpv6("2001:0:0:1:0:0:0:1")).toBe("2001:0:0:1::1");
    expect(compressIpv6("2001:db8:0:0:1:0:0:1")).toBe("2001:db8::1:0:0:1");
    expect(compressIpv6("2001:db8:0:1:1:1:1:1")).toBe("2001:db8:0:1:1:1:1:1");
    expect(compressIpv6("2001:db8::")).toBe("2001:db8::");
    expect(compressIpv6("1:0:0:0:0:0:0:0")).toBe("1::");
  });
  it("keeps an IPv4-mapped address's dotted tail, as inet_ntop (conntrack, ulogd, nft) writes it", () => {
    expect(compressIpv6("0000:0000:0000:0000:0000:ffff:0a00:0101")).toBe("::ffff:10.0.1.1");
    expect(compressIpv6("::ffff:10.0.1.1")).toBe("::ffff:10.0.1.1");
  });
  it("leaves what is not an IPv6 address as it is, and a zone id as written", () => {
    expect(compressIpv6("10.0.1.10")).toBe("10.0.1.10");
    expect(compressIpv6("")).toBe("");
    expect(compressIpv6("02:42:0a:00:01:01")).toBe("02:42:0a:00:01:01");
    expect(compressIpv6("fe80:0:0:0:0:0:0:1%lan")).toBe("fe80::1%lan");
  });
  it("reads 16 address bytes (a netlink attribute, a packet header)", () => {
    const b = Buffer.from("20010db8000100000000000000000010", "hex");
    expect(ipv6FromBytes(b)).toBe("2001:db8:1::10");
  });
});

describe("isIpv6", () => {
  it("tells IPv6 addresses in any valid form from the rest", () => {
    for (const a of [
      "::1",
      "::",
      "2001:db8:1::10",
      "2001:0db8:0001:0000:0000:0000:0000:0010",
      "::ffff:10.0.1.1",
    ])
      expect(isIpv6(a), a).toBe(true);
    for (const a of [
      "10.0.1.1",
      "",
      "lan",
      "1:2:3:4:5:6:7",
      "1::2::3",
      "1:2:3:4:5:6:7:8:9",
      "12345::1",
      "::ffff:10.0.1.256",
    ])
      expect(isIpv6(a), a).toBe(false);
  });
});
