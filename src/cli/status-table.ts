import Table from "cli-table3";
import type { NodeStatus } from "../lab/lab-status.ts";

export function statusTable(nodes: readonly NodeStatus[]): string {
  const t = new Table({
    head: ["node", "role", "state", "addresses", "image"],
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
    ]);
  }
  return `${t.toString()}\n* firewall node (rulesets load here)`;
}
