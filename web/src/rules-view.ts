import type { ConntrackTableEvent, CountersEvent } from "../../src/evidence/events.ts";
import type { RulesetLoaded } from "../../src/server/protocol.ts";
import { ApiError, api } from "./api.ts";
import { $, el, text } from "./dom.ts";
import { page } from "./page-state.ts";

/**
 * The firewall's rules: live counters (a rule whose counter rose since the last second lights
 * up), the listing of both families, and a ruleset to paste or pick and load; a load error is
 * shown at its line.
 */
export class RulesView {
  private lastCounts = new Map<string, number>();

  constructor(private readonly onConntrack: (t: ConntrackTableEvent) => void) {
    $<HTMLInputElement>("ruleset-file").onchange = async () => {
      const f = $<HTMLInputElement>("ruleset-file").files?.[0];
      if (f) $<HTMLTextAreaElement>("ruleset").value = await f.text();
    };
    $("load").onclick = () => void this.load();
  }

  async select(name: string): Promise<void> {
    page.firewall = name;
    $("rules-node").textContent = name;
    if (!name) return;
    const at = `/api/labs/${encodeURIComponent(page.lab)}/nodes/${encodeURIComponent(name)}`;
    const r = await api<{ listing: string }>(`${at}/rules`).catch((e: Error) => ({ listing: e.message }));
    $("rules").textContent = r.listing;
    const ct = await api<ConntrackTableEvent>(`${at}/conntrack`).catch(() => undefined);
    if (ct) this.onConntrack(ct);
  }

  renderCounters(e: CountersEvent): void {
    const body = $<HTMLTableElement>("rule-counters").tBodies[0]!;
    body.replaceChildren();
    const counts = new Map<string, number>();
    for (const t of e.tables) {
      const table =
        t.family === "ipv6" ? `${t.name} (ip6)` : t.nftFamily ? `${t.nftFamily} ${t.name}` : t.name;
      for (const c of t.chains) {
        const rows = [
          // nft counts only rules with a `counter` statement: the others show "-".
          ...c.rules.map((r) => ({
            key: `${table} ${c.name} ${r.num}`,
            num: String(r.num),
            packets: r.uncounted ? "-" : r.packets,
            text: r.spec,
          })),
          ...(c.policy
            ? [{ key: `${table} ${c.name} policy`, num: "policy", packets: c.packets, text: c.policy }]
            : []),
        ];
        for (const r of rows) {
          const tr = body.insertRow();
          for (const v of [table, c.name, r.num, r.packets, r.text]) tr.insertCell().append(text(v));
          if (typeof r.packets !== "number") continue;
          counts.set(r.key, r.packets);
          const before = this.lastCounts.get(r.key);
          if (before !== undefined && r.packets > before) tr.className = "hit";
        }
      }
    }
    this.lastCounts = counts;
  }

  private async load(): Promise<void> {
    const result = $("load-result");
    result.textContent = "loading…";
    try {
      const r = await api<RulesetLoaded>(
        `/api/labs/${encodeURIComponent(page.lab)}/nodes/${encodeURIComponent(page.firewall)}/ruleset`,
        { method: "POST", body: JSON.stringify({ text: $<HTMLTextAreaElement>("ruleset").value }) },
      );
      result.textContent = [`loaded ${r.loaded} rules (${r.format}, ${r.backend})`, ...r.notes].join("; ");
      result.className = "ok";
      void this.select(page.firewall);
      $("ruleset-lines").replaceChildren();
    } catch (e) {
      result.textContent = (e as Error).message;
      result.className = "fail";
      if (e instanceof ApiError && e.body.line) this.showLines(e.body.line, e.message);
    }
  }

  /** The ruleset as numbered lines, the error at its line. */
  private showLines(errorLine: number, message: string): void {
    const items = $<HTMLTextAreaElement>("ruleset")
      .value.split("\n")
      .map((l, i) => {
        const li = el("li", {}, l);
        if (i + 1 === errorLine) {
          li.className = "err-line";
          li.append(el("span", { className: "err-msg", textContent: message }));
        }
        return li;
      });
    $("ruleset-lines").replaceChildren(...items);
    $("ruleset-lines").querySelector(".err-line")?.scrollIntoView({ block: "nearest" });
  }
}
