import { cpSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";

/**
 * Copies of the seed pack that can run side by side: running labs may not share subnets (LOG
 * lines are told apart by address and MAC), so copy k gets every lab address range moved to its
 * own, and its own lab names, everywhere they appear: lab files, rulesets, scenario steps, and
 * the MACs fwlab derives from addresses (02:42 + the IPv4 bytes, as in seed 001's MAC rule).
 *
 *   default lab  10.0.N.x -> 10.(10+k).N.x   198.51.100.x -> 198.18.k.x (RFC 2544)   lab fwlab   -> pack<k>
 *   seed 001     192.168.0.x -> 192.168.(10+k).x                                    lab seed001 -> pack<k>-seed001
 *   ipv6 pack    192.168.60.x -> 192.168.(70+k).x                                   lab ipv6srv -> pack<k>-ipv6srv
 *   IPv6         2001:db8:G:... -> 2001:db8:(k+1)GGG:... (G = 1, 2, ff, 60: the labs' prefixes)
 *
 * Other labs use 10.50.x, 10.60.x (bench, fixtures), 10.71-74.x (bench/up-50-nodes.ts) and the
 * pack's own ranges (the shared test lab); 203.0.113.x is never a lab's (the host's registries).
 */
export const COPIES = 10;

export interface PackCopy {
  readonly index: number;
  /** The copied scenarios folder (run it with runScenarios or `fwlab run`). */
  readonly scenarios: string;
  /** The lab names this copy starts. */
  readonly labs: readonly string[];
  /** Is an IPv4 address one of this copy's lab addresses? */
  owns(ip: string): boolean;
}

const RANGES = (k: number) => [
  { from: "10.0.", to: `10.${10 + k}.` },
  { from: "198.51.100.", to: `198.18.${k}.` },
  { from: "192.168.0.", to: `192.168.${10 + k}.` },
  { from: "192.168.60.", to: `192.168.${70 + k}.` },
];

/** IPv6 prefixes: 2001:db8:G:... -> 2001:db8:(k+1)GGG:... (G below 0x1000: 1, 2, ff, 60). */
const prefix6 = (k: number): string => (k + 1).toString(16);

/** The labs copy k starts: its default lab and seed 001's. */
export const labNames = (k: number): string[] => [`pack${k}`, `pack${k}-seed001`, `pack${k}-ipv6srv`];

/** Every range any copy (or the original pack, as the shared test lab runs it) uses. */
export const isPackAddress = (ip: string): boolean =>
  Array.from({ length: COPIES }, (_, k) => RANGES(k)).some((rs) =>
    rs.some((r) => ip.startsWith(r.from) || ip.startsWith(r.to)),
  );

/** Copy k of the pack under `into`: `into/docker-compose.yml` and `into/scenarios/...`. */
export function renumberPack(k: number, into: string, root = process.cwd()): PackCopy {
  if (!Number.isInteger(k) || k < 0 || k >= COPIES) throw new Error(`copy ${k}: 0..${COPIES - 1}`);
  const rewrite = renumber(k);
  const scenarios = join(into, "scenarios");
  mkdirSync(into, { recursive: true });
  // A project of its own: scenario and lab files may only name files inside their project.
  writeFileSync(
    join(into, "package.json"),
    `${JSON.stringify({ name: `fwlab-pack-copy-${k}`, private: true })}\n`,
  );
  writeFileSync(
    join(into, "docker-compose.yml"),
    rewrite(readFileSync(join(root, "docker-compose.yml"), "utf8")),
  );
  cpSync(join(root, "scenarios"), scenarios, { recursive: true });
  for (const file of walk(scenarios)) {
    let text = rewrite(readFileSync(file, "utf8"));
    // A scenario without `lab:` names the project's docker-compose.yml: name the copy's instead.
    if (file.endsWith(".scenario.yml") && !/^lab:/m.test(text)) {
      const lab = relative(join(file, ".."), join(into, "docker-compose.yml"));
      text = text.replace(/^name: .*$/m, (line) => `${line}\nlab: ${lab}`);
    }
    writeFileSync(file, text);
  }
  const ranges = RANGES(k);
  return {
    index: k,
    scenarios,
    labs: labNames(k),
    owns: (ip) =>
      ranges.some((r) => ip.startsWith(r.to)) ||
      new RegExp(`^2001:db8:${prefix6(k)}[0-9a-f]{3}:`, "i").test(ip),
  };
}

/** The text of a lab file, ruleset or scenario, with copy k's addresses, MACs and lab names. */
export function renumber(k: number): (text: string) => string {
  const ranges = RANGES(k);
  const address = (ip: string) => {
    const r = ranges.find((x) => ip.startsWith(x.from));
    return r ? r.to + ip.slice(r.from.length) : ip;
  };
  return (text) =>
    text
      .replace(/(?<![\d.])\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}(?![\d])/g, address)
      // Prefixes written without a host part ("10.0.2." in a comment) are left alone on purpose.
      .replace(/\b02:42((?::[0-9a-f]{2}){4})\b/gi, (mac, bytes: string) => {
        const ip = bytes
          .slice(1)
          .split(":")
          .map((h) => Number.parseInt(h, 16))
          .join(".");
        const moved = address(ip);
        return moved === ip
          ? mac
          : `02:42:${moved
              .split(".")
              .map((o) => Number(o).toString(16).padStart(2, "0"))
              .join(":")}`;
      })
      .replace(/^(x-fwlab:\s*\n\s+name:\s*)fwlab\s*$/m, `$1pack${k}`)
      .replace(/^(x-fwlab:\s*\n\s+name:\s*)seed001\s*$/m, `$1pack${k}-seed001`)
      .replace(/^(x-fwlab:\s*\n\s+name:\s*)ipv6srv\s*$/m, `$1pack${k}-ipv6srv`)
      .replace(
        /\b2001:db8:([0-9a-f]{1,3})(?=:)/gi,
        (_, g: string) => `2001:db8:${prefix6(k)}${g.padStart(3, "0")}`,
      );
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}
