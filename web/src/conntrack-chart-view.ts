import type { ConntrackStats } from "../../src/evidence/conntrack-stats.ts";
import { $, el } from "./dom.ts";
import { TimeChart } from "./time-chart.ts";

const clock = (ms: number) => new Date(ms).toISOString().slice(11, 19);

/**
 * Conntrack over time, per firewall (seed 002): entries against nf_conntrack_max, the memory
 * they take, entries by protocol and state, the timeouts in force, and a mark where the table
 * was full and packets were dropped for it.
 */
export class ConntrackChartView {
  private readonly chart = new TimeChart(
    $("ct-chart"),
    [
      { label: "entries", stroke: "#1a73e8" },
      { label: "nf_conntrack_max", stroke: "#9aa0a6", dash: [6, 4] },
      { label: "memory KiB", stroke: "#137333", scale: "right" },
    ],
    170,
    "KiB",
    ([entries = [], max = []]) => {
      // nf_conntrack_max is drawn when the entries come near it (a lowered limit, seed 002);
      // beside a few entries a limit of 262144 would flatten them to nothing.
      const peak = Math.max(10, ...entries);
      const limit = Math.min(...max.filter((m) => m > 0), Number.POSITIVE_INFINITY);
      return [0, (limit <= 4 * peak ? Math.max(limit, peak) : peak) * 1.15];
    },
  );
  private node = "";
  private lastDrops?: number;

  /** A firewall was chosen: its numbers from now on. */
  follow(lab: string, node: string): void {
    const key = `${lab}/${node}`;
    if (key === this.node) return;
    this.node = key;
    this.lastDrops = undefined;
    this.chart.clear();
    $("ct-full").replaceChildren();
  }

  add(s: ConntrackStats): void {
    if (`${s.lab}/${s.node}` !== this.node) return;
    this.chart.push(s.time, [s.count, s.max, s.memoryBytes / 1024]);
    if (this.lastDrops !== undefined && s.drops > this.lastDrops) {
      this.chart.mark(s.time);
      $("ct-full").append(
        el(
          "div",
          { className: "ct-full-mark fail" },
          `table full at ${clock(s.time)}: ${s.drops - this.lastDrops} packets dropped for want of an entry (${s.count} of nf_conntrack_max ${s.max})`,
        ),
      );
    }
    this.lastDrops = s.drops;
    $("ct-states").textContent = s.byState
      ? Object.entries(s.byState)
          .sort((a, b) => b[1] - a[1])
          .map(([k, n]) => `${k} ${n}`)
          .join(" · ") || "no entries"
      : `${s.count} entries (too many to count by state each second)`;
    $("ct-timeouts").textContent = `timeouts in force (s): ${Object.entries(s.timeouts)
      .map(([k, v]) => `${k.replace(/_timeout/, "")} ${v}`)
      .join(", ")}`;
  }
}
