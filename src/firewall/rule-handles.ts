import { HOOKS, type Hook } from "../util/netfilter-hooks.ts";
import { parseSave } from "./parse-save.ts";

/** A rule as a trace names it (by nft handle): its number in its chain and its text. */
export interface HandledRule {
  /** 1-based position in its chain, as `--line-numbers` shows it. */
  readonly num: number;
  /** As iptables-save prints it (`-A FORWARD -p tcp ... -j DROP`) for iptables-nft tables, else nft's own text. */
  readonly text: string;
}

export type RuleHandles = ReadonlyMap<string, HandledRule>;

/**
 * What a node's ruleset is numbered from: `nft -a list ruleset`, `iptables-nft-save` and
 * `ip6tables-nft-save`.
 */
export interface RulesetListing {
  readonly nft: string;
  readonly iptablesSave: string;
  readonly ip6tablesSave?: string;
}

/** `fwlab-ruleset load ... listing` output: nft's listing, `#fwlab#`, iptables-nft-save, `#fwlab6#`, ip6tables-nft-save. */
export function parseListing(stdout: string): RulesetListing {
  const [nft = "", saves = ""] = stdout.split("#fwlab#\n");
  const [iptablesSave = "", ip6tablesSave = ""] = saves.split("#fwlab6#\n");
  return { nft, iptablesSave, ip6tablesSave };
}

export const handleKey = (family: string, table: string, chain: string, handle: number): string =>
  `${family} ${table} ${chain} ${handle}`;

/**
 * Every rule of a node by its nft handle, from `nft -a list ruleset`, `iptables-nft-save` and
 * `ip6tables-nft-save`: tables iptables-nft (ip6tables-nft) manages hold one nft rule per
 * iptables rule, in the same order, so the n-th rule of a chain in one listing is the n-th in
 * the other.
 */
export function ruleHandles(nftListing: string, iptablesSave: string, ip6tablesSave = ""): RuleHandles {
  const saved = new Map<string, string[]>();
  for (const t of [...parseSave(iptablesSave), ...parseSave(ip6tablesSave, "ipv6")])
    for (const c of t.chains)
      saved.set(
        `${t.family === "ipv6" ? "ip6" : "ip"} ${t.name} ${c.name}`,
        c.rules.map((r) => `-A ${c.name} ${r.spec}`),
      );
  const out = new Map<string, HandledRule>();
  let table: { family: string; name: string } | undefined;
  let chain: string | undefined;
  let num = 0;
  // nft's listing indents by tabs: tables at 0, chains (and sets, maps, ...) at 1, rules at 2.
  for (const line of nftListing.split("\n")) {
    const t = /^table (\S+) (\S+) \{/.exec(line);
    if (t) {
      table = { family: t[1]!, name: t[2]! };
      chain = undefined;
      continue;
    }
    if (/^\t\S/.test(line)) {
      chain = /^\tchain (\S+) \{/.exec(line)?.[1];
      num = 0;
      continue;
    }
    const rule = /^\t\t(?!type |policy )(\S.*?)\s*# handle (\d+)$/.exec(line);
    if (!rule || !table || !chain) continue;
    num++;
    const text =
      saved.get(`${table.family} ${table.name} ${chain}`)?.[num - 1] ??
      rule[1]!.replace(/\s*counter packets \d+ bytes \d+/, "").trim();
    out.set(handleKey(table.family, table.name, chain, Number(rule[2])), { num, text });
  }
  return out;
}

/**
 * The hook of every base chain in `nft list ruleset` (iptables-nft's tables are listed there
 * too), keyed `family table chain`: a trace event names a chain, and a user chain's packets are
 * at the hook of the base chain that jumped to it.
 */
export function chainHooks(nftListing: string): ReadonlyMap<string, Hook> {
  const out = new Map<string, Hook>();
  let table: string | undefined;
  let chain: string | undefined;
  for (const line of nftListing.split("\n")) {
    const t = /^table (\S+ \S+) \{/.exec(line);
    if (t) table = t[1];
    else if (/^\t\S/.test(line)) chain = /^\tchain (\S+) \{/.exec(line)?.[1];
    const h = /^\t\ttype \S+ hook (\S+) /.exec(line);
    const hook = h?.[1]?.toUpperCase();
    if (hook && table && chain && (HOOKS as readonly string[]).includes(hook))
      out.set(`${table} ${chain}`, hook as Hook);
  }
  return out;
}
