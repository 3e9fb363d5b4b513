export type RulesetFormat = "iptables-save" | "iptables-script" | "nft";

/**
 * Tells the three ruleset formats apart by their first meaningful line:
 * `*filter` (iptables-save), `table ...`/`flush ruleset`/`#!/usr/sbin/nft` (nft), else a script.
 */
export function detectRulesetFormat(file: string, text: string): RulesetFormat {
  if (/\.nft$/.test(file) || /^#!.*\bnft\b/.test(text)) return "nft";
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    if (/^\*[a-z]+$/.test(line)) return "iptables-save";
    if (/^(table|flush|define|include|add|delete)\b/.test(line)) return "nft";
    return "iptables-script";
  }
  return "iptables-script";
}
