/** The NFLOG groups a ruleset logs to: iptables `--nflog-group N` (and -j NFLOG alone: 0), nft `log group N`. */
export function groupsIn(ruleset: string): number[] {
  const groups = new Set<number>();
  for (const m of ruleset.matchAll(/--nflog-group (\d+)|log (?:prefix "[^"]*" )?group (\d+)/g))
    groups.add(Number(m[1] ?? m[2]));
  if (/-j NFLOG(?![^\n]*--nflog-group)/.test(ruleset)) groups.add(0);
  return [...groups].sort((a, b) => a - b);
}
