import type { TraceEvent } from "../../src/evidence/events.ts";
import { type PacketWalk, WalkCollector, type WalkStep } from "../../src/evidence/packet-walk.ts";
import type { ClientMessage, LabSummary, ServerMessage } from "../../src/server/protocol.ts";
import { HOOK_TABLES, type Hook } from "../../src/util/netfilter-hooks.ts";
import { $, el, hostPort, option, text } from "./dom.ts";
import { page } from "./page-state.ts";

declare global {
  interface Window {
    /** What the browser tests read: the walk shown and the step it is at. */
    fwlabWalk?: { walk: PacketWalk; index: number };
  }
}

const SVG = "http://www.w3.org/2000/svg";
const svg = <K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number>,
  label?: string,
) => {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (label !== undefined) e.textContent = label;
  return e;
};

// Seed 003's picture: where each hook sits. The top row is a forwarded packet's way; the bottom
// row the node's own packets (in to a local process, out from one).
const BOX_W = 150;
const ROW_H = 22;
const HOOK_AT: Record<Hook, { x: number; y: number }> = {
  PREROUTING: { x: 10, y: 30 },
  FORWARD: { x: 330, y: 30 },
  POSTROUTING: { x: 650, y: 30 },
  INPUT: { x: 170, y: 230 },
  OUTPUT: { x: 490, y: 230 },
};
const ROUTE_IN = { x: 245, y: 41 };
const ROUTE_OUT = { x: 565, y: 165 };
const LOCAL = { x: 410, y: 300 };

/** Draws the hooks, their tables in priority order and the routing decisions, once. */
function drawDiagram(box: SVGSVGElement): void {
  box.replaceChildren();
  box.setAttribute("viewBox", "0 0 820 420");
  const defs = svg("defs", {});
  const marker = svg("marker", {
    id: "arrow",
    viewBox: "0 0 10 10",
    refX: 9,
    refY: 5,
    markerWidth: 7,
    markerHeight: 7,
    orient: "auto",
  });
  marker.append(svg("path", { d: "M0,0 L10,5 L0,10 z", fill: "#5f6368" }));
  defs.append(marker);
  box.append(defs);
  const bottom = (h: Hook) => HOOK_AT[h].y + ROW_H * (HOOK_TABLES[h].length + 1);
  const arrow = (x1: number, y1: number, x2: number, y2: number, id: string) =>
    box.append(svg("line", { x1, y1, x2, y2, id, class: "walk-arrow", "marker-end": "url(#arrow)" }));
  const pre = HOOK_AT.PREROUTING;
  arrow(pre.x + BOX_W, pre.y + 11, ROUTE_IN.x - 30, ROUTE_IN.y, "walk-arrow-pre-route");
  arrow(ROUTE_IN.x + 30, ROUTE_IN.y, HOOK_AT.FORWARD.x, HOOK_AT.FORWARD.y + 11, "walk-arrow-route-forward");
  arrow(ROUTE_IN.x, ROUTE_IN.y + 18, HOOK_AT.INPUT.x + BOX_W / 2, HOOK_AT.INPUT.y, "walk-arrow-route-input");
  arrow(
    HOOK_AT.FORWARD.x + BOX_W,
    HOOK_AT.FORWARD.y + 11,
    HOOK_AT.POSTROUTING.x,
    HOOK_AT.POSTROUTING.y + 11,
    "walk-arrow-forward-post",
  );
  arrow(HOOK_AT.INPUT.x + BOX_W / 2, bottom("INPUT"), LOCAL.x - 60, LOCAL.y + 60, "walk-arrow-input-local");
  arrow(
    LOCAL.x + 60,
    LOCAL.y + 60,
    HOOK_AT.OUTPUT.x + BOX_W / 2,
    bottom("OUTPUT"),
    "walk-arrow-local-output",
  );
  arrow(
    HOOK_AT.OUTPUT.x + BOX_W / 2,
    HOOK_AT.OUTPUT.y,
    ROUTE_OUT.x,
    ROUTE_OUT.y + 18,
    "walk-arrow-output-route",
  );
  arrow(
    ROUTE_OUT.x + 30,
    ROUTE_OUT.y,
    HOOK_AT.POSTROUTING.x + BOX_W / 2,
    bottom("POSTROUTING"),
    "walk-arrow-route-post",
  );
  for (const [id, at, label] of [
    ["walk-route-in", ROUTE_IN, "routing"],
    ["walk-route-out", ROUTE_OUT, "routing"],
  ] as const) {
    const g = svg("g", { id, class: "walk-route" });
    g.append(
      svg("polygon", {
        points: `${at.x},${at.y - 18} ${at.x + 30},${at.y} ${at.x},${at.y + 18} ${at.x - 30},${at.y}`,
      }),
      svg("text", { x: at.x, y: at.y + 4, "text-anchor": "middle" }, label),
    );
    box.append(g);
  }
  const local = svg("g", { id: "walk-local", class: "walk-route" });
  local.append(
    svg("rect", { x: LOCAL.x - 60, y: LOCAL.y + 50, width: 120, height: 26, rx: 13 }),
    svg("text", { x: LOCAL.x, y: LOCAL.y + 67, "text-anchor": "middle" }, "local process"),
  );
  box.append(local);
  for (const [hook, at] of Object.entries(HOOK_AT) as [Hook, { x: number; y: number }][]) {
    const g = svg("g", { id: `walk-${hook}`, class: "walk-hook" });
    g.append(
      svg("rect", {
        x: at.x,
        y: at.y,
        width: BOX_W,
        height: ROW_H * (HOOK_TABLES[hook].length + 1),
        class: "walk-hook-box",
      }),
      svg(
        "text",
        { x: at.x + BOX_W / 2, y: at.y + 15, "text-anchor": "middle", class: "walk-hook-name" },
        hook,
      ),
    );
    HOOK_TABLES[hook].forEach((table, i) => {
      const cell = svg("g", {
        id: `walk-${hook}-${table}`,
        class: `walk-table${table === "conntrack" ? " walk-ct" : ""}`,
      });
      cell.dataset.hook = hook;
      cell.dataset.table = table;
      const y = at.y + ROW_H * (i + 1);
      cell.append(
        svg("rect", { x: at.x + 4, y: y + 1, width: BOX_W - 8, height: ROW_H - 3, rx: 3 }),
        svg("text", { x: at.x + 10, y: y + 15, class: "walk-table-name" }, table),
        svg("text", { x: at.x + BOX_W - 10, y: y + 15, "text-anchor": "end", class: "walk-note" }, ""),
      );
      g.append(cell);
    });
    box.append(g);
  }
}

const describe = (w: PacketWalk) => {
  const p = w.packet;
  const what = p
    ? `${p.proto === "other" ? (p.icmpType !== undefined ? `ICMP ${p.icmpType}` : "IP") : p.proto.toUpperCase()} ${hostPort(p.src, p.sport)} → ${hostPort(p.dst, p.dport)}`
    : "packet";
  return `${w.node} ${w.packetId}: ${what} (${w.fate})`;
};

const stepText = (s: WalkStep) =>
  `${s.hook ?? "?"} · ${s.table} ${s.chain} ${s.rule === undefined ? "policy" : `#${s.rule}`} → ${s.verdict}${s.rule === undefined ? "" : `  ${s.ruleText}`}${s.ct ? `  [ct ${s.ct.state}]` : ""}${s.rewrite ? `  NAT: ${s.rewrite}` : ""}`;

/**
 * A packet's walk through a node: seed 003's diagram, the chains the packet met lit in order up
 * to the step shown, its conntrack state and NAT rewrites where they happened, its fate. Walks
 * come from a scenario step's trace or from a live trace started here with a match.
 */
export class WalkView {
  private walks: PacketWalk[] = [];
  private walk?: PacketWalk;
  private index = 0;
  private playing?: ReturnType<typeof setInterval>;
  private traceId = "";

  constructor(private readonly send: (msg: ClientMessage) => void) {
    drawDiagram($("walk-diagram") as unknown as SVGSVGElement);
    $<HTMLSelectElement>("walk-packets").onchange = () =>
      this.choose(Number($<HTMLSelectElement>("walk-packets").value));
    $("walk-prev").onclick = () => this.go(this.index - 1);
    $("walk-next").onclick = () => this.go(this.index + 1);
    $("walk-play").onclick = () => this.play();
    $("walk-trace").onclick = () => this.toggleTrace();
  }

  /** The firewalls of the lab shown, for a live trace. */
  setLab(l: LabSummary | undefined): void {
    $("walk-node").replaceChildren(...(l?.nodes ?? []).filter((n) => n.firewall).map((n) => option(n.name)));
  }

  /** A scenario step's packets: one walk per packet and node. */
  showTrace(trace: readonly TraceEvent[], title: string): void {
    const c = new WalkCollector();
    const walks: PacketWalk[] = [];
    for (const e of trace) walks.push(...c.add(e));
    walks.push(...c.flush(Number.POSITIVE_INFINITY, true));
    this.setWalks(walks, `step "${title}"`);
    $("walk-panel").scrollIntoView({ block: "nearest" });
  }

  receive(msg: Extract<ServerMessage, { kind: "walk" | "trace-started" | "trace-ended" }>): void {
    if (msg.id !== this.traceId) return;
    if (msg.kind === "trace-started") {
      $("walk-state").textContent = `tracing "${msg.match}" on ${msg.lab}/${msg.node}…`;
    } else if (msg.kind === "trace-ended") {
      this.traceId = "";
      $("walk-trace").textContent = "trace";
      $("walk-state").textContent = `trace ended: ${msg.reason}`;
    } else {
      const first = this.walks.length === 0;
      this.walks.push(msg.walk);
      $("walk-packets").append(option(String(this.walks.length - 1), describe(msg.walk)));
      if (first) this.choose(0);
    }
  }

  private toggleTrace(): void {
    if (this.traceId) {
      this.send({ kind: "trace-stop", id: this.traceId });
      return;
    }
    this.traceId = `w${Date.now().toString(36)}`;
    this.setWalks([], "live trace");
    this.send({
      kind: "trace-start",
      id: this.traceId,
      lab: page.lab,
      node: $<HTMLSelectElement>("walk-node").value,
      match: $<HTMLInputElement>("walk-match").value,
    });
    $("walk-trace").textContent = "stop";
    $("walk-state").textContent = "starting the trace…";
  }

  private setWalks(walks: PacketWalk[], source: string): void {
    this.walks = walks;
    $("walk-packets").replaceChildren(...walks.map((w, i) => option(String(i), describe(w))));
    $("walk-source").textContent = `${source}: ${walks.length} packet${walks.length === 1 ? "" : "s"}`;
    if (walks.length > 0) this.choose(0);
    else this.clear();
  }

  private choose(i: number): void {
    this.walk = this.walks[i];
    $<HTMLSelectElement>("walk-packets").value = String(i);
    if (!this.walk) {
      this.clear();
      return;
    }
    $("walk-steps").replaceChildren(
      ...this.walk.steps.map((s, k) => {
        const li = el("li", {}, stepText(s));
        li.onclick = () => this.go(k);
        return li;
      }),
      el("li", { className: `walk-fate fate-${this.walk.fate}` }, `⇒ ${this.walk.fate}`),
    );
    this.go(this.walk.steps.length - 1);
  }

  private clear(): void {
    this.walk = undefined;
    $("walk-steps").replaceChildren(text("no packet traced yet"));
    this.light(-1);
  }

  private go(k: number): void {
    if (!this.walk) return;
    this.index = Math.max(0, Math.min(k, this.walk.steps.length - 1));
    this.light(this.index);
    window.fwlabWalk = { walk: this.walk, index: this.index };
  }

  private play(): void {
    if (this.playing) {
      clearInterval(this.playing);
      this.playing = undefined;
      $("walk-play").textContent = "play";
      return;
    }
    $("walk-play").textContent = "pause";
    this.go(0);
    this.playing = setInterval(() => {
      if (!this.walk || this.index >= this.walk.steps.length - 1) {
        this.play();
        return;
      }
      this.go(this.index + 1);
    }, 700);
  }

  /** Lights every chain met up to step k, in order (data-order), the current one apart. */
  private light(k: number): void {
    const diagram = $("walk-diagram");
    for (const e of diagram.querySelectorAll<SVGGElement>(".walk-table, .walk-route")) {
      e.classList.remove("lit", "current", "dropped", "ct-lit");
      delete e.dataset.order;
      const note = e.querySelector(".walk-note");
      if (note) note.textContent = "";
    }
    for (const a of diagram.querySelectorAll(".walk-arrow")) a.classList.remove("lit");
    for (const li of $("walk-steps").querySelectorAll("li")) li.classList.remove("current", "done");
    const w = this.walk;
    if (!w) return;
    let order = 0;
    const cell = (hook: Hook | undefined, table: string) =>
      hook ? diagram.querySelector<SVGGElement>(`#walk-${hook}-${table}`) : null;
    const hooks: Hook[] = [];
    w.steps.slice(0, k + 1).forEach((s, i) => {
      $("walk-steps").children[i]?.classList.add(i === k ? "current" : "done");
      if (s.hook && hooks.at(-1) !== s.hook) hooks.push(s.hook);
      const c = cell(s.hook, s.table);
      if (!c) return;
      if (!c.classList.contains("lit")) {
        c.classList.add("lit");
        c.dataset.order = String(order++);
      }
      if (i === k) c.classList.add("current");
      if (s.verdict === "DROP") c.classList.add("dropped");
      const note = c.querySelector(".walk-note");
      if (note && s.rewrite) note.textContent = s.rewrite.includes("dst") ? "DNAT" : "SNAT";
      // Where the packet got its conntrack state: seed 003's "conntrack" box at its hook.
      const ct = s.ct && (s.hook === "PREROUTING" || s.hook === "OUTPUT") ? cell(s.hook, "conntrack") : null;
      if (ct && s.ct) {
        ct.classList.add("ct-lit");
        const n = ct.querySelector(".walk-note");
        if (n) n.textContent = s.ct.state;
      }
    });
    // The routing decisions and arrows between the hooks the packet passed.
    const passed = new Set<string>();
    hooks.forEach((h, i) => {
      const next = hooks[i + 1];
      if (h === "PREROUTING" && next) passed.add("walk-route-in").add("walk-arrow-pre-route");
      if (h === "PREROUTING" && next === "FORWARD") passed.add("walk-arrow-route-forward");
      if (h === "PREROUTING" && next === "INPUT") passed.add("walk-arrow-route-input");
      if (h === "INPUT") passed.add("walk-arrow-input-local");
      if (h === "FORWARD" && next === "POSTROUTING") passed.add("walk-arrow-forward-post");
      if (h === "OUTPUT") passed.add("walk-local").add("walk-arrow-local-output");
      if (h === "OUTPUT" && next === "POSTROUTING")
        passed.add("walk-route-out").add("walk-arrow-output-route").add("walk-arrow-route-post");
    });
    for (const id of passed) diagram.querySelector(`#${id}`)?.classList.add("lit");
    $("walk-fate").textContent =
      k >= w.steps.length - 1
        ? `⇒ ${w.fate}${w.hooks.length ? ` (${w.hooks.join(" → ")})` : ""}`
        : `step ${k + 1} of ${w.steps.length}`;
  }
}
