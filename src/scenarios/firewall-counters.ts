import { parseCounters } from "../evidence/counters.ts";
import { parseNftList } from "../firewall/parse-nft-list.ts";
import { parseSave, type SavedTable } from "../firewall/parse-save.ts";
import type { NodeRunner } from "../runtime/exec-result.ts";
import type { Backend } from "../topology/lab-spec.ts";
import { Coalesced } from "../util/coalesced.ts";

/** How a firewall's counters are read while its rules stay as they are. */
interface Source {
  readonly backend: Backend;
  readonly ipv4: boolean;
  readonly ipv6: boolean;
}

/**
 * The rules and counters of a lab's firewalls, read before and after every probe (a step's
 * counter deltas). Each firewall is read on its own, so a load in one keeps the other's reading.
 *
 * A read is a process or two in the node, and on a busy two-core machine each process costs
 * tens of milliseconds: while fwlab knows a firewall's backend and which families have tables
 * (from a load's read-back, or the read at a scenario's start), a read is that backend's save
 * tool for those families only (one process for an IPv4 ruleset; `nft list ruleset` for an nft
 * one, whose rules count only with a `counter` statement); otherwise it is `fwlab-ruleset save`
 * (a shell, both families' tools and a filter, or nft's listing). A load's read-back is also
 * the next probe's reading before.
 */
export class FirewallCounters {
  private readonly sources = new Map<string, Source>();
  private readonly reads: Map<string, Coalesced<SavedTable[]>>;

  constructor(
    firewalls: readonly string[],
    private readonly run: NodeRunner,
  ) {
    this.reads = new Map(firewalls.map((n) => [n, new Coalesced(() => this.read(n))]));
  }

  /** Any reading of every firewall taken while nothing changed (see Coalesced.any). */
  any(): Promise<Map<string, SavedTable[]>> {
    return this.all((c) => c.any());
  }

  /** Readings of every firewall begun at or after `notBefore` (see Coalesced.fresh). */
  fresh(notBefore: number): Promise<Map<string, SavedTable[]>> {
    return this.all((c) => c.fresh(notBefore));
  }

  /** Something changed rules or counters in ways fwlab cannot tell: every firewall is read in full. */
  forget(): void {
    this.sources.clear();
    for (const c of this.reads.values()) c.forget();
  }

  /**
   * A firewall's rules and counters as they are now (a load's read-back, the read after
   * zeroing): the next reading before, and what later reads need to run.
   */
  known(node: string, backend: Backend, tables: SavedTable[]): void {
    const c = this.reads.get(node);
    if (!c) return;
    this.sources.set(node, {
      backend,
      ipv4: tables.some((t) => t.family !== "ipv6"),
      ipv6: tables.some((t) => t.family === "ipv6"),
    });
    c.seed(tables);
  }

  /** A firewall's rules changed and fwlab has no reading of them: the next read is a full one. */
  changed(node: string): void {
    this.sources.delete(node);
    this.reads.get(node)?.forget();
  }

  private async all(
    take: (c: Coalesced<SavedTable[]>) => Promise<SavedTable[]>,
  ): Promise<Map<string, SavedTable[]>> {
    const entries = await Promise.all([...this.reads].map(async ([n, c]) => [n, await take(c)] as const));
    return new Map(entries);
  }

  private async read(node: string): Promise<SavedTable[]> {
    const how = this.sources.get(node);
    if (!how) return parseCounters((await this.run(node)(["fwlab-ruleset", "save"])).stdout);
    if (how.backend === "nft") return parseNftList((await this.run(node)(["nft", "list", "ruleset"])).stdout);
    // Sequential: side by side they took longer (one fork after the other in the agent anyway).
    let text = "";
    for (const tool of saveTools(how.backend, how))
      text += `${(await this.run(node)([tool, "-c"])).stdout}\n`;
    return parseSave(text); // ip6tables-save's own header marks its tables IPv6
  }
}

/** The save tools of an iptables backend, for the families asked for. */
export function saveTools(backend: Exclude<Backend, "nft">, families = { ipv4: true, ipv6: true }): string[] {
  const v6 = `ip6${backend.slice("ip".length)}-save`;
  return [...(families.ipv4 ? [`${backend}-save`] : []), ...(families.ipv6 ? [v6] : [])];
}
