/**
 * IPv6 address text. Tools print one address several ways: the kernel's LOG target and fwlab's
 * trace reader fully expanded (2001:0db8:0001:0000:0000:0000:0000:0010), conntrack, ulogd and
 * nft compressed (2001:db8:1::10), as lab files write them. Compressed is the one form
 * addresses are compared in.
 */

/** The eight 16-bit groups of an IPv6 address in any valid text form, or undefined. */
function groupsOf(addr: string): number[] | undefined {
  let s = addr;
  // A dotted IPv4 tail (::ffff:10.0.1.1) is the last two groups.
  const v4 = /^(.*:)(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (v4) {
    const o = v4.slice(2).map(Number);
    if (o.some((n) => n > 255)) return undefined;
    s = `${v4[1]}${((o[0]! << 8) | o[1]!).toString(16)}:${((o[2]! << 8) | o[3]!).toString(16)}`;
  }
  const halves = s.split("::");
  if (halves.length > 2) return undefined;
  const words = (h: string) => (h === "" ? [] : h.split(":"));
  const head = words(halves[0]!);
  const tail = halves.length === 2 ? words(halves[1]!) : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const all = [...head, ...Array<string>(missing).fill("0"), ...tail];
  if (!all.every((w) => /^[0-9a-fA-F]{1,4}$/.test(w))) return undefined;
  return all.map((w) => Number.parseInt(w, 16));
}

/** Splits off a zone id ("fe80::1%lan"), which is kept as written. */
const zoneSplit = (addr: string): [string, string] => {
  const at = addr.indexOf("%");
  return at < 0 ? [addr, ""] : [addr.slice(0, at), addr.slice(at)];
};

export function isIpv6(addr: string): boolean {
  return groupsOf(zoneSplit(addr)[0]) !== undefined;
}

/**
 * The RFC 5952 form of an IPv6 address: lower case, leading zeros dropped, the longest run of
 * two or more zero groups (the first of equals) as "::". As glibc's inet_ntop writes it (what
 * conntrack, ulogd and nft print), so every source agrees: an IPv4-mapped or -compatible
 * address keeps its dotted tail (::ffff:10.0.1.1). Anything that is not an IPv6 address (an
 * IPv4 address, "") comes back unchanged.
 */
export function compressIpv6(addr: string): string {
  const [bare, zone] = zoneSplit(addr);
  const g = groupsOf(bare);
  return g ? formatGroups(g) + zone : addr;
}

/** A 16-byte IPv6 address (a netlink attribute, a packet header) in the compressed form. */
export function ipv6FromBytes(b: Uint8Array): string {
  return formatGroups(Array.from({ length: 8 }, (_, i) => (b[i * 2]! << 8) | b[i * 2 + 1]!));
}

/** Eight 16-bit groups in the compressed form (RFC 5952): one writer of IPv6 text for all of fwlab. */
export function formatGroups(g: readonly number[]): string {
  let best = -1;
  let bestLen = 1; // a single zero group stays "0"
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const hex = (from: number, to: number) =>
    g
      .slice(from, to)
      .map((w) => w.toString(16))
      .join(":");
  if (best === 0 && (bestLen === 6 || (bestLen === 5 && g[5] === 0xffff))) {
    const v4 = [g[6]! >> 8, g[6]! & 0xff, g[7]! >> 8, g[7]! & 0xff].join(".");
    return `::${bestLen === 5 ? "ffff:" : ""}${v4}`;
  }
  return best < 0 ? hex(0, 8) : `${hex(0, best)}::${hex(best + bestLen, 8)}`;
}
