import uPlot from "uplot";

declare global {
  interface Window {
    /** What the browser tests read: each chart's latest points, by the chart's element id. */
    fwlabCharts?: Record<string, { labels: string[]; data: number[][]; marks: number[] }>;
  }
}

export interface Series {
  readonly label: string;
  readonly stroke: string;
  /** "y" (left axis, default) or another scale drawn on the right. */
  readonly scale?: string;
  readonly dash?: number[];
}

const KEEP = 180;

/**
 * A small live chart of numbers over time (uPlot): the newest KEEP samples, an x axis in clock
 * time, and vertical marks (a table-full moment) drawn where they happened.
 */
export class TimeChart {
  private readonly times: number[] = [];
  private readonly values: number[][];
  private readonly marks: number[] = [];
  private plot?: uPlot;

  constructor(
    private readonly box: HTMLElement,
    private readonly series: readonly Series[],
    private readonly height = 150,
    private readonly rightLabel?: string,
    /** The left axis' range from the series' values (default: uPlot's, from all of them). */
    private readonly yRange?: (values: readonly (readonly number[])[]) => [number, number],
  ) {
    this.values = series.map(() => []);
    window.fwlabCharts ??= {};
  }

  /** Starts over (another lab or node was chosen). */
  clear(): void {
    this.times.length = 0;
    for (const v of this.values) v.length = 0;
    this.marks.length = 0;
    this.draw();
  }

  push(timeMs: number, values: readonly number[]): void {
    this.times.push(timeMs / 1000);
    values.forEach((v, i) => {
      this.values[i]?.push(v);
    });
    if (this.times.length > KEEP) {
      this.times.shift();
      for (const v of this.values) v.shift();
    }
    this.draw();
  }

  /** A vertical mark at this moment (kept while it is in the window). */
  mark(timeMs: number): void {
    this.marks.push(timeMs / 1000);
    this.draw();
  }

  private draw(): void {
    const data = [this.times, ...this.values] as uPlot.AlignedData;
    window.fwlabCharts![this.box.id] = {
      labels: this.series.map((s) => s.label),
      data: this.values.map((v) => [...v]),
      marks: this.marks.map((m) => m * 1000),
    };
    const width = Math.max(200, this.box.clientWidth);
    if (!this.plot || this.plot.width !== width) {
      this.plot?.destroy();
      const marks = this.marks;
      this.plot = new uPlot(
        {
          width,
          height: this.height,
          legend: { show: true },
          scales: {
            x: { time: true },
            ...(this.yRange ? { y: { range: (): uPlot.Range.MinMax => this.yRange!(this.values) } } : {}),
          },
          series: [
            {},
            ...this.series.map((s) => ({
              label: s.label,
              stroke: s.stroke,
              width: 2,
              scale: s.scale ?? "y",
              dash: s.dash,
            })),
          ],
          axes: [
            {},
            { scale: "y", size: 60 },
            ...(this.rightLabel
              ? [{ scale: "right", side: 1, label: this.rightLabel, grid: { show: false } }]
              : []),
          ],
          hooks: {
            // Marks: a red line across the plot at each moment.
            draw: [
              (u: uPlot) => {
                const ctx = u.ctx;
                ctx.save();
                ctx.strokeStyle = "#c5221f";
                ctx.lineWidth = 2 * devicePixelRatio;
                for (const m of marks) {
                  const x = u.valToPos(m, "x", true);
                  if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
                  ctx.beginPath();
                  ctx.moveTo(x, u.bbox.top);
                  ctx.lineTo(x, u.bbox.top + u.bbox.height);
                  ctx.stroke();
                }
                ctx.restore();
              },
            ],
          },
        },
        data,
        this.box,
      );
    } else this.plot.setData(data);
  }
}
