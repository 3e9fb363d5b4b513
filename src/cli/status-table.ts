import Table from "cli-table3";
import type { NodeStatus } from "../lab/lab-status.ts";

/** The nodes of a lab; with the host column when the lab spans several. */
export function statusTable(nodes: readonly NodeStatus[]): string {
  const hosts = new Set(nodes.map((n) => n.host)).size > 1;
  const t = new Table({
    head: ["node", "role", "state", "addresses", "image", ...(hosts ? ["host"] : [])],
    style: { head: [], border: [] },
  });
  for (const n of nodes) {
    t.push([
      n.name + (n.firewall ? " *" : ""),
      n.role,
      n.ready ? "ready" : n.state,
      Object.entries(n.addresses)
        .map(([net, ip]) => `${net} ${ip}`)
        .join("\n"),
      n.image,
      ...(hosts ? [n.host] : []),
    ]);
  }
  return `${t.toString()}\n* firewall node (rulesets load here)`;
}
