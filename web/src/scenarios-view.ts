import type { TraceEvent } from "../../src/evidence/events.ts";
import type { ServerMessage } from "../../src/server/protocol.ts";
import { api, download } from "./api.ts";
import { $, el, hostPort, option, text } from "./dom.ts";
import { page } from "./page-state.ts";

type RunStarted = Extract<ServerMessage, { kind: "run-started" }>;
type RunStep = Extract<ServerMessage, { kind: "run-step" }>;
type RunDone = Extract<ServerMessage, { kind: "run-done" }>;

/**
 * Scenario runs: every step is listed when the run starts and turns green or red as it ends;
 * a finished step opens to its checks, evidence, packet trace (and its packets' walks) and
 * failure bundle.
 */
export class ScenariosView {
  private runId = "";
  private readonly results = new Map<number, RunStep>();

  constructor(private readonly onWalk: (trace: readonly TraceEvent[], title: string) => void) {
    $("run").onclick = async () => {
      try {
        await api("/api/runs", {
          method: "POST",
          body: JSON.stringify({ file: $<HTMLSelectElement>("scenario").value, lab: page.lab }),
        });
      } catch (e) {
        $("run-state").textContent = (e as Error).message;
        $("run-state").className = "fail";
      }
    };
    void api<string[]>("/api/scenarios").then((files) =>
      $("scenario").replaceChildren(...files.map((f) => option(f))),
    );
  }

  started(msg: RunStarted): void {
    if (msg.lab !== page.lab) return;
    this.runId = msg.id;
    this.results.clear();
    $("run-state").textContent = `running ${msg.file}…`;
    $("run-state").className = "";
    $("step-detail").replaceChildren();
    $("steps").replaceChildren(
      ...msg.scenarios.flatMap((sc) =>
        sc.steps.map((name, i) => {
          const li = el("li", { className: "pending" }, name);
          li.dataset.index = String(i);
          li.onclick = () => this.show(i);
          return li;
        }),
      ),
    );
  }

  step(msg: RunStep): void {
    if (msg.id !== this.runId) return;
    const s = msg.step;
    this.results.set(s.index, msg);
    const li = $("steps").querySelector(`li[data-index="${s.index}"]`);
    if (!li) return;
    li.className = s.passed ? "ok" : "fail";
    li.replaceChildren(
      text(
        `${s.passed ? "✓" : "✗"} ${s.name} — ${s.observed}${s.passed ? "" : `: ${s.reason ?? ""}`} (${Math.round(s.durationMs)} ms)`,
      ),
    );
  }

  done(msg: RunDone): void {
    if (msg.id !== this.runId) return;
    $("run-state").textContent = msg.passed ? "passed" : `failed${msg.error ? `: ${msg.error}` : ""}`;
    $("run-state").className = msg.passed ? "ok" : "fail";
  }

  private show(index: number): void {
    for (const li of $("steps").querySelectorAll<HTMLElement>("li"))
      li.classList.toggle("selected", li.dataset.index === String(index));
    const msg = this.results.get(index);
    const box = $("step-detail");
    if (!msg) return void box.replaceChildren(text("this step has not finished yet"));
    const s = msg.step;
    const h = (t: string) => el("h3", { textContent: t });
    const lines = (rows: string[]) => el("pre", { textContent: rows.join("\n") || "(none)" });
    const ev = s.evidence;
    const trace = ev?.trace ?? [];
    const parts: Node[] = [
      h(`${s.name}: expected ${s.expected}, observed ${s.observed}`),
      lines([s.detail, ...(s.why ? [`why: ${s.why}`] : [])]),
      h("checks"),
      lines(s.checks.map((c) => `${c.ok ? "✓" : "✗"} ${c.what}: ${c.detail}`)),
      h("log lines"),
      lines(
        (ev?.logs ?? []).map(
          (e) =>
            `${e.node} ${e.source} "${e.prefix}" ${e.fields.src} → ${e.fields.dst} ${e.fields.proto}${e.fields.dpt ? ` dpt ${e.fields.dpt}` : ""}`,
        ),
      ),
      h("conntrack"),
      lines(
        (ev?.conntrack ?? []).map(
          (e) =>
            `${e.node} ${e.type} ${e.entry.proto} ${e.entry.original.src} → ${hostPort(e.entry.original.dst, e.entry.original.dport)} ${e.entry.state ?? ""}`,
        ),
      ),
      h("rule counters that moved"),
      lines(
        Object.entries(ev?.counters ?? {}).flatMap(([node, ds]) =>
          ds.map((d) => `${node} ${d.table} ${d.chain} ${d.rule ?? "policy"} +${d.packets} ${d.spec ?? ""}`),
        ),
      ),
      h("packet trace"),
      lines(
        trace.map(
          (t) =>
            `${t.node} ${t.packetId} ${t.packet ? `${hostPort(t.packet.src, t.packet.sport)} → ${hostPort(t.packet.dst, t.packet.dport)} ` : ""}${t.table}:${t.chain}:${t.rule ?? "policy"} ${t.verdict} ${t.ruleText}`,
        ),
      ),
    ];
    if (trace.length > 0) {
      const walk = el("button", { id: "step-walk", textContent: "walk these packets through the hooks" });
      walk.onclick = () => this.onWalk(trace, s.name);
      parts.push(walk);
    }
    parts.push(h("failure bundle"));
    if (msg.bundleFiles?.length) {
      parts.push(
        el(
          "ul",
          {},
          ...msg.bundleFiles.map((f) => {
            const a = el("a", { textContent: f, href: "#" });
            a.addEventListener("click", (e) => {
              e.preventDefault();
              void download(
                `/api/runs/${msg.id}/bundle?path=${encodeURIComponent(f)}`,
                f.split("/").pop() ?? f,
              );
            });
            return el("li", {}, a);
          }),
        ),
      );
    } else parts.push(lines([s.passed ? "(a passed step leaves no bundle)" : "(none)"]));
    box.replaceChildren(...parts);
  }
}
