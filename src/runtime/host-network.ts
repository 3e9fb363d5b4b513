import { readFile } from "node:fs/promises";

export interface HostRoute {
  readonly destination: string;
  readonly device: string;
}

/**
 * The host's own IPv4 routes (from /proc/net/route) and resolvers (/etc/resolv.conf). A lab
 * subnet that overlaps one of them would capture the host's traffic: on these machines the
 * package registries live at a TEST-NET address, and a lab network on that subnet made them
 * unreachable. Docker's bridges are left out; the engine checks those itself.
 */
export async function hostRoutes(): Promise<HostRoute[]> {
  const text = await readFile("/proc/net/route", "utf8").catch(() => "");
  const out: HostRoute[] = [];
  for (const line of text.split("\n").slice(1)) {
    const [device, dest, , , , , , mask] = line.trim().split(/\s+/);
    if (!device || !dest || !mask || /^(br-|docker|veth)/.test(device)) continue;
    const ip = hexToIp(dest);
    const prefix = bitCount(Number.parseInt(mask, 16));
    if (prefix === 0) continue; // the default route overlaps everything by definition
    out.push({ destination: `${ip}/${prefix}`, device });
  }
  return out;
}

export async function hostResolvers(): Promise<string[]> {
  const text = await readFile("/etc/resolv.conf", "utf8").catch(() => "");
  return [...text.matchAll(/^nameserver\s+(\d+\.\d+\.\d+\.\d+)/gm)].map((m) => m[1]!);
}

/** /proc/net/route holds addresses as little-endian hex. */
function hexToIp(hex: string): string {
  const n = Number.parseInt(hex, 16);
  return [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, (n >>> 24) & 255].join(".");
}

function bitCount(n: number): number {
  let c = 0;
  for (let v = n >>> 0; v; v >>>= 1) c += v & 1;
  return c;
}
