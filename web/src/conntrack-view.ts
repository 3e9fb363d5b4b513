import { CONNTRACK_SORTS } from "../../src/evidence/conntrack-sorts.ts";
import type { ConntrackTableEvent } from "../../src/evidence/events.ts";
import { $, hostPort, text } from "./dom.ts";

/** The firewall's conntrack table, sortable by column, with its size and memory estimate. */
export class ConntrackView {
  private sortKey = "src";
  private last?: ConntrackTableEvent;

  constructor() {
    for (const th of document.querySelectorAll<HTMLElement>("th[data-sort]")) {
      th.onclick = () => {
        this.sortKey = th.dataset.sort ?? "src";
        if (this.last) this.render(this.last);
      };
    }
  }

  render(t: ConntrackTableEvent): void {
    this.last = t;
    $("ct-head").textContent =
      `${t.node}: ${t.count} entries, ~${(t.memoryBytes / 1024).toFixed(1)} KiB (${t.entryBytes} B each)`;
    const body = $<HTMLTableElement>("conntrack").tBodies[0]!;
    body.replaceChildren();
    for (const e of [...t.entries].sort(CONNTRACK_SORTS[this.sortKey])) {
      const tr = body.insertRow();
      const nat =
        e.nat.snat || e.nat.dnat
          ? `${hostPort(e.reply.src, e.reply.sport)} → ${hostPort(e.reply.dst, e.reply.dport)} ${e.nat.snat ? "SNAT" : "DNAT"}`
          : "";
      for (const v of [
        hostPort(e.original.src, e.original.sport),
        hostPort(e.original.dst, e.original.dport),
        e.proto,
        e.state ?? "",
        e.timeout ?? "",
        nat,
      ])
        tr.insertCell().append(text(v));
      tr.cells[3]!.className = `st-${e.state}`;
    }
  }
}
