// The dashboard page: it renders the server's typed messages (src/server/protocol.ts) and calls
// its REST API; it never parses tool output. One module per view; this one connects them.
import type { ClientMessage, ServerMessage } from "../../src/server/protocol.ts";
import { token } from "./api.ts";
import { ClassView } from "./class-view.ts";
import { ConntrackChartView } from "./conntrack-chart-view.ts";
import { ConntrackView } from "./conntrack-view.ts";
import { $, option } from "./dom.ts";
import { LogsView } from "./logs-view.ts";
import { renderNodes, showNodeRates } from "./nodes-view.ts";
import { currentLab, page, spans } from "./page-state.ts";
import { HitsChartView, PpsChartView } from "./rates-chart-view.ts";
import { RulesView } from "./rules-view.ts";
import { ScenariosView } from "./scenarios-view.ts";
import { TerminalView } from "./terminal-view.ts";
import { TopologyView } from "./topology-view.ts";
import { WalkView } from "./walk-view.ts";

let ws: WebSocket | undefined;
const send = (msg: ClientMessage) => ws?.send(JSON.stringify(msg));

const conntrack = new ConntrackView();
const conntrackChart = new ConntrackChartView();
const ppsChart = new PpsChartView();
const hitsChart = new HitsChartView();
const rules = new RulesView((t) => conntrack.render(t));
const logs = new LogsView();
const walk = new WalkView(send);
const scenarios = new ScenariosView((trace, title) => walk.showTrace(trace, title));
const terminal = new TerminalView(send);
const topology = new TopologyView((n, id) => {
  $("node-details").textContent = n
    ? `${n.name}: ${n.role}, ${n.state}, ${n.image}, on host ${n.host}, ${Object.entries(n.addresses)
        .map(([k, v]) => `${k} ${v}${n.addresses6[k] ? ` ${n.addresses6[k]}` : ""}`)
        .join(", ")}`
    : id;
  if (n?.firewall) void rules.select(n.name);
});

/** Opens a lab of the class (the overview's links, an address ending #lab=NAME). */
function openLab(name: string): void {
  if (!page.labs.some((l) => l.name === name)) return;
  page.lab = name;
  page.firewall = "";
  $<HTMLSelectElement>("lab").value = name;
  showLab();
  $("topology-panel").scrollIntoView({ block: "start" });
}
const overview = new ClassView(openLab);
addEventListener("hashchange", () => {
  const lab = new URLSearchParams(location.hash.slice(1)).get("lab");
  if (lab) openLab(lab);
});

function showLab(): void {
  const l = currentLab();
  topology.render(l);
  renderNodes(l, (name) => void rules.select(name));
  walk.setLab(l);
  ppsChart.setLab(l);
  $("term-node").replaceChildren(...(l?.nodes ?? []).map((n) => option(n.name)));
  if (!page.firewall) void rules.select(l?.nodes.find((n) => n.firewall)?.name ?? "");
}

/** Every kind the server sends is handled here: a new kind fails the type check until it is. */
function receive(msg: ServerMessage): void {
  switch (msg.kind) {
    case "hello": {
      page.labs = msg.labs;
      const sel = $<HTMLSelectElement>("lab");
      // Which engine each lab runs on (a remote engine, a docker context): the option says.
      sel.replaceChildren(
        ...msg.labs.map((l) =>
          option(
            l.name,
            spans(l)
              ? `${l.name} (hosts ${l.hosts.join(", ")}${l.unreachable?.length ? `; not answering: ${l.unreachable.join(", ")}` : ""})`
              : `${l.name} (engine ${l.engine})`,
          ),
        ),
      );
      const asked = new URLSearchParams(location.hash.slice(1)).get("lab");
      page.lab = msg.labs.find((l) => l.name === asked)?.name ?? msg.labs[0]?.name ?? "";
      sel.value = page.lab;
      overview.render(msg.labs);
      sel.onchange = () => {
        page.lab = sel.value;
        page.firewall = "";
        showLab();
      };
      showLab();
      return;
    }
    case "events": {
      logs.add(msg.events.filter((e) => e.kind === "packet-log"));
      for (const e of msg.events) {
        if (e.kind === "conntrack-table" && e.lab === page.lab && e.node === page.firewall)
          conntrack.render(e);
        if (e.kind === "counters" && e.lab === page.lab) logs.ruleTables.set(e.node, e.tables);
        if (e.kind === "counters" && e.lab === page.lab && e.node === page.firewall) {
          rules.renderCounters(e);
          hitsChart.add(e);
        }
        if (e.kind === "loss") $("status").textContent = `live (loss: ${e.reason})`;
      }
      return;
    }
    case "rates":
      if (msg.lab !== page.lab) return;
      topology.showRates(msg.pps);
      ppsChart.add(msg.pps);
      showNodeRates(msg.pps);
      return;
    case "run-started":
      scenarios.started(msg);
      return;
    case "run-step":
      scenarios.step(msg);
      return;
    case "run-done":
      void overview.refresh();
      scenarios.done(msg);
      return;
    case "term-output":
    case "term-exit":
      terminal.receive(msg);
      return;
    case "walk":
    case "trace-started":
    case "trace-ended":
      walk.receive(msg);
      return;
    case "conntrack-stats":
      if (msg.stats.lab === page.lab && msg.stats.node === page.firewall) {
        conntrackChart.follow(page.lab, page.firewall);
        conntrackChart.add(msg.stats);
      }
      return;
    case "dropped":
      $("status").textContent = `live (${msg.count} dropped: ${msg.reason})`;
      return;
    case "error":
      $("status").textContent = `live (the server refused a message: ${msg.reason})`;
      return;
    default: {
      const unhandled: never = msg;
      throw new Error(`unhandled message ${JSON.stringify(unhandled)}`);
    }
  }
}

function connect(): void {
  // Browsers cannot set headers on a WebSocket: the token rides in the subprotocol list.
  ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`, [
    "fwlab.v1",
    `token.${token}`,
  ]);
  ws.onopen = () => {
    $("status").textContent = "live";
  };
  ws.onclose = () => {
    $("status").textContent = "disconnected, retrying…";
    setTimeout(connect, 1000);
  };
  ws.onmessage = (m) => receive(JSON.parse(String(m.data)) as ServerMessage);
}

if (token) connect();
else
  $("status").textContent =
    "no token: open the address `fwlab serve` printed (it ends in #token=...); the page keeps the token only until it is reloaded";
