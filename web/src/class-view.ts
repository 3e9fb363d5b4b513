import type { LabSummary } from "../../src/server/protocol.ts";
import { api } from "./api.ts";
import { $, el, text } from "./dom.ts";

const ago = (ms: number) => {
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  return s < 60 ? `${s} s ago` : s < 3600 ? `${Math.round(s / 60)} min ago` : `${Math.round(s / 3600)} h ago`;
};

/**
 * A class at a glance (the teacher's token sees every lab): each lab with its nodes' state, its
 * last scenario run (passed or which steps failed, and when) and a link into it. A lab's own
 * token sees its lab only, and the overview stays out of the way.
 */
export class ClassView {
  private labs: readonly LabSummary[] = [];

  constructor(private readonly open: (lab: string) => void) {}

  render(labs: readonly LabSummary[]): void {
    this.labs = labs;
    $("class-panel").hidden = labs.length < 2;
    const body = $<HTMLTableElement>("class").tBodies[0]!;
    body.replaceChildren(
      ...labs.map((l) => {
        const down = l.nodes.filter((n) => n.state !== "running");
        const r = l.lastRun;
        const link = el("a", { href: `#lab=${encodeURIComponent(l.name)}`, textContent: l.name });
        link.onclick = (e) => {
          e.preventDefault();
          this.open(l.name);
        };
        const tr = el(
          "tr",
          {},
          el("td", {}, link),
          el("td", {}, l.hosts.join(", ")),
          el(
            "td",
            { className: down.length ? "fail" : "ok" },
            `${l.nodes.length - down.length}/${l.nodes.length} running${down.length ? ` (${down.map((n) => `${n.name} ${n.state}`).join(", ")})` : ""}${l.unreachable?.length ? `; not answering: ${l.unreachable.join(", ")}` : ""}`,
          ),
          el(
            "td",
            { className: r ? (r.passed ? "ok" : "fail") : "" },
            r
              ? `${r.passed ? "✓ passed" : `✗ ${r.failedSteps} of ${r.steps} steps failed`} · ${r.files.join(", ")}${r.firstFailure ? ` · ${r.firstFailure}` : ""}`
              : "no run yet",
          ),
          el("td", { className: "when" }, r ? ago(r.at) : ""),
        );
        tr.dataset.lab = l.name;
        return tr;
      }),
    );
    if (labs.length === 0) body.append(el("tr", {}, el("td", { colSpan: 5 }, text("no lab is running"))));
  }

  /** A run ended somewhere: its lab's last run (and nodes) as they are now. */
  async refresh(): Promise<void> {
    this.render(await api<LabSummary[]>("/api/labs").catch(() => this.labs));
  }
}
