import type { PacketLogEvent } from "../../src/evidence/events.ts";
import type { SavedTable } from "../../src/firewall/parse-save.ts";
import { $, hostPort, text } from "./dom.ts";
import { page } from "./page-state.ts";

const MAX_LINES = 2000;

declare global {
  interface Window {
    /** Read by bench/dashboard.ts: how far behind the page draws. */
    fwlabLogStats?: { rendered: number; lags: number[] };
  }
}

const FILTERS = ["f-node", "f-prefix", "f-addr", "f-port", "f-proto"] as const;

/**
 * LOG and NFLOG lines, filtered by node, prefix, address, port and protocol. Lines are queued
 * and drawn once per animation frame, only the newest MAX_LINES of a backlog: a burst of
 * thousands of lines costs one layout, not thousands.
 */
export class LogsView {
  private paused = false;
  private shown = 0;
  private queued: PacketLogEvent[] = [];
  /** The newest lines whatever the filters say, so a changed filter re-draws from them. */
  private recent: PacketLogEvent[] = [];
  private frame = 0;
  private readonly stats = { rendered: 0, lags: [] as number[] };
  /** Each node's ruleset (from its counters): a line names the rule it came from. */
  readonly ruleTables = new Map<string, readonly SavedTable[]>();

  constructor() {
    window.fwlabLogStats = this.stats;
    for (const id of FILTERS) {
      $<HTMLInputElement>(id).oninput = () => {
        $("logs").replaceChildren();
        this.shown = 0;
        this.queued = this.recent.filter((e) => this.matches(e)).slice(-MAX_LINES);
        this.frame ||= requestAnimationFrame(() => this.draw());
      };
    }
    $("pause").onclick = () => {
      this.paused = !this.paused;
      $("pause").textContent = this.paused ? "resume" : "pause";
    };
  }

  add(events: readonly PacketLogEvent[]): void {
    this.recent.push(...events);
    if (this.recent.length > 2 * MAX_LINES) this.recent = this.recent.slice(-MAX_LINES);
    if (this.paused) return;
    for (const e of events) if (this.matches(e)) this.queued.push(e);
    if (this.queued.length > MAX_LINES) this.queued = this.queued.slice(-MAX_LINES);
    this.frame ||= requestAnimationFrame(() => this.draw());
  }

  private matches(e: PacketLogEvent): boolean {
    const f = (id: (typeof FILTERS)[number]) => $<HTMLInputElement>(id).value.trim();
    const p = e.fields;
    return (
      e.lab === page.lab &&
      (!f("f-node") || e.node === f("f-node")) &&
      (!f("f-prefix") || e.prefix.includes(f("f-prefix"))) &&
      (!f("f-addr") || p.src === f("f-addr") || p.dst === f("f-addr")) &&
      (!f("f-port") || String(p.spt) === f("f-port") || String(p.dpt) === f("f-port")) &&
      (!f("f-proto") || p.proto === f("f-proto"))
    );
  }

  /** The rule a line came from, when the node's ruleset has exactly one rule with that prefix. */
  private ruleOf(e: PacketLogEvent): string {
    const flag = e.source === "LOG" ? "--log-prefix" : "--nflog-prefix";
    const pattern = new RegExp(`${flag} ("([^"]*)"|(\\S+))`);
    const hits = (this.ruleTables.get(e.node) ?? []).flatMap((t) =>
      t.chains.flatMap((c) =>
        c.rules
          .filter((r) => {
            const m = pattern.exec(r.spec);
            return m && (m[2] ?? m[3] ?? "").trim() === e.prefix.trim();
          })
          .map((r) => `${t.name} ${c.name} #${r.num}`),
      ),
    );
    return hits.length === 1 ? ` ← ${hits[0]}` : "";
  }

  private draw(): void {
    this.frame = 0;
    const box = $("logs");
    const frag = document.createDocumentFragment();
    const now = Date.now();
    for (const e of this.queued) {
      this.stats.rendered++;
      if (this.stats.lags.length < 100_000) this.stats.lags.push(now - e.time);
      const p = e.fields;
      const div = document.createElement("div");
      div.className = "log";
      div.append(
        text(
          `${new Date(e.time).toISOString().slice(11, 23)} ${e.node} ${e.source} "${e.prefix}" ${hostPort(p.src, p.spt)} → ${hostPort(p.dst, p.dpt)} ${p.proto} ${p.tcpFlags?.join(",") ?? ""} in ${p.in ?? "-"} out ${p.out ?? "-"}${this.ruleOf(e)}`,
        ),
      );
      frag.append(div);
      this.shown++;
    }
    this.queued = [];
    box.append(frag);
    // Bounded: a page that shows 10,000 lines a minute keeps only the newest.
    while (box.childElementCount > MAX_LINES) box.firstElementChild?.remove();
    box.scrollTop = box.scrollHeight;
    $("log-count").textContent = `${this.shown} shown`;
  }
}
