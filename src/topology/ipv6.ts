import { formatGroups } from "../util/ipv6.ts";

/**
 * IPv6 addresses and prefixes as bigints, for the lab file's membership and overlap checks;
 * RFC 5952 text. (Evidence parsers only compress text: util/ipv6.ts.)
 */
export interface Cidr6 {
  readonly network: bigint;
  readonly prefix: number;
  readonly text: string;
}

const ALL = (1n << 128n) - 1n;

/** An IPv6 address (with `::`, and a trailing dotted IPv4 part) as a number, or undefined. */
export function parseIpv6(text: string): bigint | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(text) || text.split("::").length > 2) return undefined;
  let tail = text;
  const v4 = /(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  let extra: string[] = [];
  if (v4) {
    const b = v4.slice(1).map(Number);
    if (b.some((x) => x > 255)) return undefined;
    extra = [((b[0]! << 8) | b[1]!).toString(16), ((b[2]! << 8) | b[3]!).toString(16)];
    tail = `${text.slice(0, v4.index)}0:0`; // placeholder groups, replaced below
  }
  const [head, rest] = tail.split("::") as [string, string | undefined];
  const left = head === "" ? [] : head.split(":");
  const right = rest === undefined || rest === "" ? [] : rest.split(":");
  if (v4) (right.length ? right : left).splice(-2, 2, ...extra);
  const missing = 8 - left.length - right.length;
  if (rest === undefined ? missing !== 0 : missing < 1) return undefined;
  const groups = [...left, ...Array<string>(rest === undefined ? 0 : missing).fill("0"), ...right];
  if (groups.some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(Number.parseInt(g, 16)), 0n);
}

/** An address in its one canonical form (RFC 5952: lower case, longest zero run as `::`). */
export const formatIpv6 = (ip: bigint): string =>
  formatGroups(Array.from({ length: 8 }, (_, i) => Number((ip >> BigInt(112 - 16 * i)) & 0xffffn)));

/** `2001:DB8:0:1::0010` → `2001:db8:0:1::10`; undefined when it is no IPv6 address. */
export const canonicalIpv6 = (text: string): string | undefined => {
  const ip = parseIpv6(text);
  return ip === undefined ? undefined : formatIpv6(ip);
};

export function parseCidr6(text: string): Cidr6 | undefined {
  const [addr, len, ...rest] = text.split("/");
  if (rest.length || addr === undefined || len === undefined || !/^\d{1,3}$/.test(len)) return undefined;
  const ip = parseIpv6(addr);
  const prefix = Number(len);
  if (ip === undefined || prefix > 128) return undefined;
  return { network: ip & mask6(prefix), prefix, text };
}

const mask6 = (prefix: number): bigint => (prefix === 0 ? 0n : (ALL << BigInt(128 - prefix)) & ALL);

export const cidr6Contains = (c: Cidr6, ip: bigint): boolean => (ip & mask6(c.prefix)) === c.network;

export function cidrs6Overlap(a: Cidr6, b: Cidr6): boolean {
  const m = mask6(Math.min(a.prefix, b.prefix));
  return (a.network & m) === (b.network & m);
}
