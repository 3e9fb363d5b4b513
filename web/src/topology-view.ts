import cytoscape from "cytoscape";
import type { LabNode } from "../../src/lab/lab-node.ts";
import type { LabSummary } from "../../src/server/protocol.ts";
import { $ } from "./dom.ts";
import { spans } from "./page-state.ts";
import { topologyLayout } from "./topology-layout.ts";

declare global {
  interface Window {
    /** What the browser tests read: the nodes and edges actually drawn. */
    fwlabGraph?: cytoscape.Core;
  }
}

const nodeLabel = (l: LabSummary | undefined, n: LabNode, extra = "") =>
  `${n.name}\n${n.role}${spans(l) ? `\n@ ${n.host}` : ""}${extra}`;

/**
 * Networks and nodes as a graph: an edge per interface, labelled with its address. Labels are
 * 12-13 px (legible at 1440×900 without zooming) and the layout fits the panel. A node that
 * sends or receives draws its links thicker and coloured while its packets flow.
 */
export class TopologyView {
  private graph?: cytoscape.Core;
  private lab?: LabSummary;

  constructor(private readonly onNode: (n: LabNode | undefined, id: string) => void) {}

  render(l: LabSummary | undefined): void {
    this.lab = l;
    const nodes = l?.nodes ?? [];
    const networks = [...new Set(nodes.flatMap((n) => Object.keys(n.addresses)))];
    const elements: cytoscape.ElementDefinition[] = [
      ...networks.map((net) => ({ data: { id: `net:${net}`, label: net, kind: "network" } })),
      ...nodes.map((n) => ({
        data: { id: n.name, label: nodeLabel(l, n), kind: n.firewall ? "firewall" : "node", state: n.state },
      })),
      ...nodes.flatMap((n) =>
        Object.entries(n.addresses).map(([net, ip]) => ({
          // The address sits near the host's end of its link, near the network's for a router:
          // routers' links fan out from one point, hosts' from one network.
          data: {
            id: `${n.name}-${net}`,
            source: n.name,
            target: `net:${net}`,
            label: ip,
            near: Object.keys(n.addresses).length > 1 ? "net" : "host",
            busy: 0,
          },
        })),
      ),
    ];
    const positions = topologyLayout(
      networks,
      nodes.map((n) => ({ id: n.name, networks: Object.keys(n.addresses) })),
    );
    this.graph?.destroy();
    this.graph = cytoscape({
      container: $("topology"),
      elements,
      layout: {
        name: "preset",
        positions: Object.fromEntries(positions),
        fit: true,
        padding: 30,
      },
      minZoom: 0.5,
      maxZoom: 1.3,
      style: [
        {
          selector: "node",
          style: {
            label: "data(label)",
            "text-wrap": "wrap",
            "font-size": 13,
            "text-valign": "bottom",
            "text-margin-y": 4,
            "text-background-color": "#fff",
            "text-background-opacity": 0.85,
            "text-background-padding": "2px",
            width: 34,
            height: 34,
            "background-color": "#8ab4f8",
          },
        },
        {
          selector: 'node[kind = "network"]',
          style: {
            shape: "round-rectangle",
            width: 80,
            height: 26,
            "text-valign": "center",
            "text-margin-y": 0,
            "font-weight": "bold",
            "background-color": "#e8eaed",
          },
        },
        {
          selector: 'node[kind = "firewall"]',
          style: { shape: "diamond", width: 42, height: 42, "background-color": "#f28b82" },
        },
        { selector: 'node[state != "running"][kind != "network"]', style: { "background-color": "#bbb" } },
        {
          selector: "edge",
          style: {
            "font-size": 12,
            "text-background-color": "#fff",
            "text-background-opacity": 0.85,
            width: 1.5,
            "line-color": "#9aa0a6",
          },
        },
        {
          selector: 'edge[near = "host"]',
          style: { "source-label": "data(label)", "source-text-offset": 40 },
        },
        {
          selector: 'edge[near = "net"]',
          style: { "target-label": "data(label)", "target-text-offset": 56 },
        },
        // Links that carried packets in the last second (2 or more: not a stray neighbour solicitation).
        { selector: "edge[busy >= 2]", style: { width: 5, "line-color": "#1a73e8" } },
      ],
    });
    window.fwlabGraph = this.graph;
    this.graph.on("tap", "node", (evt) => {
      const id = evt.target.id() as string;
      this.onNode(
        nodes.find((x) => x.name === id),
        id,
      );
    });
  }

  /** Packets per second through each node: on its label, and on its links while they flow. */
  showRates(pps: Readonly<Record<string, number>>): void {
    for (const n of this.lab?.nodes ?? []) {
      const rate = pps[n.name];
      if (rate === undefined) continue;
      this.graph?.getElementById(n.name).data("label", nodeLabel(this.lab, n, `\n${rate} pkt/s`));
      for (const net of Object.keys(n.addresses))
        this.graph?.getElementById(`${n.name}-${net}`).data("busy", rate);
    }
  }
}
