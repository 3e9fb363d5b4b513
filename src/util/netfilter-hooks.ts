/** The five netfilter hooks, in iptables' names, in the order a forwarded packet meets three of them. */
export const HOOKS = ["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"] as const;
export type Hook = (typeof HOOKS)[number];

/**
 * Seed 003's picture: the tables at each hook in the order of their priorities (raw -300,
 * conntrack -200, mangle -150, nat dstnat -100, filter 0, security 50, nat srcnat 100).
 * `conntrack` is no table: it is where a packet gets its state, drawn as seed 003 draws it.
 */
export const HOOK_TABLES: Readonly<Record<Hook, readonly string[]>> = {
  PREROUTING: ["raw", "conntrack", "mangle", "nat"],
  INPUT: ["mangle", "filter", "security", "nat"],
  FORWARD: ["mangle", "filter", "security"],
  OUTPUT: ["raw", "conntrack", "mangle", "nat", "filter", "security"],
  POSTROUTING: ["mangle", "nat"],
};
