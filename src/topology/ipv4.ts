/** IPv4 addresses and CIDR blocks as numbers, for overlap and membership checks. */
export interface Cidr {
  readonly network: number;
  readonly prefix: number;
  readonly text: string;
}

export function parseIpv4(text: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

export function parseCidr(text: string): Cidr | undefined {
  const [addr, len, ...rest] = text.split("/");
  if (rest.length || addr === undefined || len === undefined || !/^\d{1,2}$/.test(len)) return undefined;
  const ip = parseIpv4(addr);
  const prefix = Number(len);
  if (ip === undefined || prefix > 32) return undefined;
  return { network: (ip & mask(prefix)) >>> 0, prefix, text };
}

const mask = (prefix: number): number => (prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0);

export const cidrContains = (c: Cidr, ip: number): boolean => (ip & mask(c.prefix)) >>> 0 === c.network;

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  const p = Math.min(a.prefix, b.prefix);
  return (a.network & mask(p)) >>> 0 === (b.network & mask(p)) >>> 0;
}

/** The network and broadcast addresses of a block, which no node may hold. */
export const isNetworkOrBroadcast = (c: Cidr, ip: number): boolean =>
  c.prefix < 31 && (ip === c.network || ip === (c.network | (~mask(c.prefix) >>> 0)) >>> 0);

export const formatIpv4 = (ip: number): string =>
  [ip >>> 24, (ip >>> 16) & 255, (ip >>> 8) & 255, ip & 255].join(".");
