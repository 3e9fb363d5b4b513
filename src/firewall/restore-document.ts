/** A ruleset ready for the node's loader, and how its lines map back to the user's file. */
export interface RestoreDocument {
  readonly text: string;
  /** The line of the user's file that line `n` (1-based) of `text` came from. */
  readonly sourceLine: (n: number) => number | undefined;
  /** The iptables tables the document names (empty for nft). */
  readonly tables: readonly string[];
  /**
   * A played script's: the command that made line `n`, when the script goes on past its failure
   * (`iptables -A ... || true`): the key that plays it failed (scriptToRestore's `failed`).
   */
  readonly skippable?: (n: number) => string | undefined;
}

/** An iptables-save file (/etc/sysconfig/iptables) is loaded as it is: its lines are the user's. */
export function restoreFileDocument(text: string): RestoreDocument {
  const tables = [...text.matchAll(/^\*(\w+)\s*$/gm)].map((m) => m[1]!);
  return { text: text.endsWith("\n") ? text : `${text}\n`, sourceLine: (n) => n, tables };
}

/** An nft file is loaded after `flush ruleset`, in one transaction: all of it or none of it. */
export function nftFileDocument(text: string): RestoreDocument {
  return { text: `flush ruleset\n${text}\n`, sourceLine: (n) => (n > 1 ? n - 1 : undefined), tables: [] };
}
