import type { LabSummary } from "../../src/server/protocol.ts";
import { $, text } from "./dom.ts";
import { spans } from "./page-state.ts";

/** The nodes table: name, role (and host), addresses of both families, state, packets per second. */
export function renderNodes(l: LabSummary | undefined, onFirewall: (name: string) => void): void {
  const body = $<HTMLTableElement>("nodes").tBodies[0]!;
  body.replaceChildren();
  for (const n of l?.nodes ?? []) {
    const tr = body.insertRow();
    tr.className = n.firewall ? "fw" : "";
    const addresses = Object.entries(n.addresses).map(
      ([k, v]) => `${k} ${v}${n.addresses6?.[k] ? ` ${n.addresses6[k]}` : ""}`,
    );
    for (const v of [
      n.name + (n.firewall ? " ★" : ""),
      spans(l) ? `${n.role} on ${n.host}` : n.role,
      addresses.join(", "),
      n.state,
      "",
    ])
      tr.insertCell().append(text(v));
    tr.dataset.node = n.name;
    tr.onclick = () => n.firewall && onFirewall(n.name);
  }
}

export function showNodeRates(pps: Readonly<Record<string, number>>): void {
  for (const [node, rate] of Object.entries(pps)) {
    const cell = $("nodes").querySelector<HTMLTableRowElement>(`tr[data-node="${CSS.escape(node)}"]`)
      ?.cells[4];
    if (cell) cell.textContent = String(rate);
  }
}
