import type { CountersEvent } from "../../src/evidence/events.ts";
import type { LabSummary } from "../../src/server/protocol.ts";
import { $ } from "./dom.ts";
import { TimeChart } from "./time-chart.ts";

const COLOURS = ["#1a73e8", "#d93025", "#188038", "#f29900", "#a142f4", "#12b5cb", "#e8710a", "#5f6368"];

/** Packets per second per node, beside the topology: one line per node of the lab shown. */
export class PpsChartView {
  private chart?: TimeChart;
  private nodes: string[] = [];

  setLab(l: LabSummary | undefined): void {
    this.nodes = (l?.nodes ?? []).map((n) => n.name).slice(0, COLOURS.length);
    $("pps-chart").replaceChildren();
    this.chart = new TimeChart(
      $("pps-chart"),
      this.nodes.map((n, i) => ({ label: n, stroke: COLOURS[i]! })),
      130,
    );
  }

  add(pps: Readonly<Record<string, number>>): void {
    this.chart?.push(
      Date.now(),
      this.nodes.map((n) => pps[n] ?? 0),
    );
  }
}

/**
 * Rule hits per second beside the rules: the firewall's five busiest rules (and policies) of the
 * last counters, from the change of their packet counters each second.
 */
export class HitsChartView {
  private chart?: TimeChart;
  private shown: string[] = [];
  private last = new Map<string, { packets: number; time: number }>();
  private node = "";

  add(e: CountersEvent): void {
    if (`${e.lab}/${e.node}` !== this.node) {
      this.node = `${e.lab}/${e.node}`;
      this.last.clear();
      this.shown = [];
    }
    const rates = new Map<string, number>();
    for (const t of e.tables)
      for (const c of t.chains) {
        const rows = [
          ...c.rules.map(
            (r) => [`${t.family === "ipv6" ? "ip6 " : ""}${t.name} ${c.name} #${r.num}`, r.packets] as const,
          ),
          ...(c.policy
            ? [[`${t.family === "ipv6" ? "ip6 " : ""}${t.name} ${c.name} policy`, c.packets] as const]
            : []),
        ];
        for (const [key, packets] of rows) {
          const before = this.last.get(key);
          if (before && e.time > before.time)
            rates.set(key, Math.max(0, ((packets - before.packets) * 1000) / (e.time - before.time)));
          this.last.set(key, { packets, time: e.time });
        }
      }
    // The busiest five of this second join the chart (and stay on it while it is drawn).
    const busiest = [...rates.entries()]
      .filter(([, r]) => r > 0)
      .sort((a, b) => b[1] - a[1])
      .map(([k]) => k);
    const next = [...new Set([...this.shown, ...busiest])].slice(0, 5);
    if (next.join("|") !== this.shown.join("|") || !this.chart) {
      this.shown = next;
      $("hits-chart").replaceChildren();
      this.chart = new TimeChart(
        $("hits-chart"),
        this.shown.map((k, i) => ({ label: k, stroke: COLOURS[i]! })),
        130,
      );
    }
    this.chart.push(
      e.time,
      this.shown.map((k) => Math.round(rates.get(k) ?? 0)),
    );
  }
}
