// The dashboard page: it renders the server's typed messages (src/server/protocol.ts) and calls
// its REST API; it never parses tool output. Every request carries the token in a header.
import { mountTerminal } from "./terminal.js";

// The printed URL carries the token in its fragment (no request sends a fragment): the page
// keeps it (this tab only, for reloads) and takes it out of the address bar and history.
const fromUrl = new URLSearchParams(location.hash.slice(1)).get("token");
if (fromUrl) {
  sessionStorage.setItem("fwlab-token", fromUrl);
  history.replaceState(null, "", location.pathname);
}
const token = fromUrl ?? sessionStorage.getItem("fwlab-token") ?? "";
const api = (path, init = {}) =>
  fetch(path, { ...init, headers: { "content-type": "application/json", authorization: `Bearer ${token}`, ...(init.headers ?? {}) } }).then(async (r) => {
    const body = await r.json();
    if (!r.ok) throw Object.assign(new Error(body.error ?? r.statusText), { body });
    return body;
  });
const $ = (id) => document.getElementById(id);
const text = (s) => document.createTextNode(String(s ?? ""));

let labs = [];
let lab = "";
let firewall = "";
let paused = false;
const MAX_LINES = 2000;
let shown = 0;

let graph;
/** Networks and nodes as a graph (cytoscape): an edge per interface, labelled with its address. */
function renderTopology(l) {
  const networks = [...new Set((l?.nodes ?? []).flatMap((n) => Object.keys(n.addresses)))];
  const elements = [
    ...networks.map((net) => ({ data: { id: `net:${net}`, label: net, kind: "network" } })),
    ...(l?.nodes ?? []).map((n) => ({ data: { id: n.name, label: nodeLabel(l, n), kind: n.firewall ? "firewall" : "node", state: n.state } })),
    ...(l?.nodes ?? []).flatMap((n) =>
      Object.entries(n.addresses).map(([net, ip]) => ({ data: { id: `${n.name}-${net}`, source: n.name, target: `net:${net}`, label: ip } })),
    ),
  ];
  graph?.destroy();
  graph = window.cytoscape({
    container: $("topology"),
    elements,
    layout: { name: "cose", animate: false, nodeRepulsion: 8000 },
    style: [
      { selector: "node", style: { label: "data(label)", "text-wrap": "wrap", "font-size": 10, "text-valign": "center", width: 46, height: 46, "background-color": "#8ab4f8" } },
      { selector: 'node[kind = "network"]', style: { shape: "round-rectangle", width: 70, height: 24, "background-color": "#e8eaed" } },
      { selector: 'node[kind = "firewall"]', style: { shape: "diamond", "background-color": "#f28b82" } },
      { selector: 'node[state != "running"][kind != "network"]', style: { "background-color": "#bbb" } },
      { selector: "edge", style: { label: "data(label)", "font-size": 8, width: 1.5, "line-color": "#9aa0a6" } },
    ],
  });
  window.fwlabGraph = graph; // what the browser tests read: the nodes actually drawn
  graph.on("tap", "node", (evt) => {
    const n = l.nodes.find((x) => x.name === evt.target.id());
    $("node-details").textContent = n ? `${n.name}: ${n.role}, ${n.state}, ${n.image}, on host ${n.host}, ${Object.entries(n.addresses).map(([k, v]) => `${k} ${v}`).join(", ")}` : evt.target.id();
    if (n?.firewall) selectFirewall(n.name);
  });
}

/** Whether a lab spans several hosts: each node then says which it runs on. */
const spans = (l) => (l?.hosts?.length ?? 1) > 1;
const nodeLabel = (l, n, extra = "") => `${n.name}\n${n.role}${spans(l) ? `\n@ ${n.host}` : ""}${extra}`;

function renderNodes() {
  const l = labs.find((x) => x.name === lab);
  if (window.cytoscape) renderTopology(l);
  const body = $("nodes").tBodies[0];
  body.replaceChildren();
  for (const n of l?.nodes ?? []) {
    const tr = body.insertRow();
    tr.className = n.firewall ? "fw" : "";
    for (const v of [n.name + (n.firewall ? " ★" : ""), spans(l) ? `${n.role} on ${n.host}` : n.role, Object.entries(n.addresses).map(([k, v]) => `${k} ${v}`).join(", "), n.state, ""]) tr.insertCell().append(text(v));
    tr.dataset.node = n.name;
    tr.onclick = () => n.firewall && selectFirewall(n.name);
  }
  $("term-node").replaceChildren(...(l?.nodes ?? []).map((n) => Object.assign(document.createElement("option"), { value: n.name, textContent: n.name })));
  if (!firewall) selectFirewall(l?.nodes.find((n) => n.firewall)?.name ?? "");
}

async function selectFirewall(name) {
  firewall = name;
  $("rules-node").textContent = name;
  if (!name) return;
  const r = await api(`/api/labs/${lab}/nodes/${name}/rules`).catch((e) => ({ listing: e.message }));
  $("rules").textContent = r.listing;
  renderConntrack(await api(`/api/labs/${lab}/nodes/${name}/conntrack`).catch(() => undefined));
}

let sortKey = "src";
let lastTable;
const sorters = {
  src: (a, b) => a.original.src.localeCompare(b.original.src, undefined, { numeric: true }),
  dst: (a, b) => a.original.dst.localeCompare(b.original.dst, undefined, { numeric: true }),
  proto: (a, b) => a.proto.localeCompare(b.proto),
  state: (a, b) => (a.state ?? "").localeCompare(b.state ?? ""),
  ttl: (a, b) => (b.timeout ?? 0) - (a.timeout ?? 0),
};
function renderConntrack(t) {
  if (!t) return;
  lastTable = t;
  $("ct-head").textContent = `${t.node}: ${t.count} entries, ~${(t.memoryBytes / 1024).toFixed(1)} KiB (${t.entryBytes} B each)`;
  const body = $("conntrack").tBodies[0];
  body.replaceChildren();
  const port = (p) => (p === undefined ? "" : `:${p}`);
  for (const e of [...t.entries].sort(sorters[sortKey])) {
    const tr = body.insertRow();
    const nat = e.nat.snat || e.nat.dnat ? `${e.reply.src}${port(e.reply.sport)} → ${e.reply.dst}${port(e.reply.dport)} ${e.nat.snat ? "SNAT" : "DNAT"}` : "";
    for (const v of [`${e.original.src}${port(e.original.sport)}`, `${e.original.dst}${port(e.original.dport)}`, e.proto, e.state ?? "", e.timeout ?? "", nat]) tr.insertCell().append(text(v));
    tr.cells[3].className = `st-${e.state}`;
  }
}
for (const th of document.querySelectorAll("th[data-sort]")) th.onclick = () => { sortKey = th.dataset.sort; renderConntrack(lastTable); };

function logMatches(e) {
  const f = (id) => $(id).value.trim();
  const p = e.fields;
  return (
    e.lab === lab &&
    (!f("f-node") || e.node === f("f-node")) &&
    (!f("f-prefix") || e.prefix.includes(f("f-prefix"))) &&
    (!f("f-addr") || p.src === f("f-addr") || p.dst === f("f-addr")) &&
    (!f("f-port") || String(p.spt) === f("f-port") || String(p.dpt) === f("f-port")) &&
    (!f("f-proto") || p.proto === f("f-proto"))
  );
}

// Log lines are queued and drawn once per animation frame, only the newest MAX_LINES of a
// backlog: a burst of thousands of lines costs one layout, not thousands.
let queued = [];
let frame = 0;
const stats = { rendered: 0, lags: [] };
window.fwlabLogStats = stats; // read by bench/dashboard.ts: how far behind the page draws
// The rule a line came from, when the node's ruleset (from its counters) has exactly one rule
// with that prefix: " ← filter FORWARD #3".
const ruleTables = new Map();
function ruleOf(e) {
  const flag = e.source === "LOG" ? "--log-prefix" : "--nflog-prefix";
  const hits = (ruleTables.get(e.node) ?? []).flatMap((t) =>
    t.chains.flatMap((c) =>
      c.rules
        .filter((r) => {
          const m = new RegExp(`${flag} ("([^"]*)"|(\\S+))`).exec(r.spec);
          return m && (m[2] ?? m[3]).trim() === e.prefix.trim();
        })
        .map((r) => `${t.name} ${c.name} #${r.num}`),
    ),
  );
  return hits.length === 1 ? ` ← ${hits[0]}` : "";
}

// The newest lines whatever the filters say, so a changed filter re-draws from them.
let recent = [];
function addLogs(events) {
  for (const e of events) if (e.kind === "packet-log") recent.push(e);
  if (recent.length > 2 * MAX_LINES) recent = recent.slice(-MAX_LINES);
  if (paused) return;
  for (const e of events) if (e.kind === "packet-log" && logMatches(e)) queued.push(e);
  if (queued.length > MAX_LINES) queued = queued.slice(-MAX_LINES);
  frame ||= requestAnimationFrame(drawLogs);
}
function drawLogs() {
  frame = 0;
  const box = $("logs");
  // "10.0.1.10:41234", "[2001:db8:1::10]:41234"
  const at = (addr, port) => (port ? (String(addr).includes(":") ? `[${addr}]:${port}` : `${addr}:${port}`) : addr);
  const frag = document.createDocumentFragment();
  const now = Date.now();
  for (const e of queued) {
    stats.rendered++;
    if (stats.lags.length < 100_000) stats.lags.push(now - e.time);
    const p = e.fields;
    const div = document.createElement("div");
    div.className = "log";
    div.append(text(`${new Date(e.time).toISOString().slice(11, 23)} ${e.node} ${e.source} "${e.prefix}" ${at(p.src, p.spt)} → ${at(p.dst, p.dpt)} ${p.proto} ${p.tcpFlags?.join(",") ?? ""} in ${p.in ?? "-"} out ${p.out ?? "-"}${ruleOf(e)}`));
    frag.append(div);
    shown++;
  }
  queued = [];
  box.append(frag);
  // Bounded: a page that shows 10,000 lines a minute keeps only the newest.
  while (box.childElementCount > MAX_LINES) box.firstElementChild.remove();
  box.scrollTop = box.scrollHeight;
  $("log-count").textContent = `${shown} shown`;
}

let ws;
function connect() {
  // Browsers cannot set headers on a WebSocket: the token rides in the subprotocol list.
  ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`, ["fwlab.v1", `token.${token}`]);
  ws.onopen = () => ($("status").textContent = "live");
  ws.onclose = () => {
    $("status").textContent = "disconnected, retrying…";
    setTimeout(connect, 1000);
  };
  ws.onmessage = (m) => {
    const msg = JSON.parse(m.data);
    if (msg.kind === "hello") {
      labs = msg.labs;
      const sel = $("lab");
      // Which engine each lab runs on (a remote engine, a docker context): the option says.
      sel.replaceChildren(...labs.map((l) => Object.assign(document.createElement("option"), { value: l.name, textContent: spans(l) ? `${l.name} (hosts ${l.hosts.join(", ")}${l.unreachable?.length ? `; not answering: ${l.unreachable.join(", ")}` : ""})` : `${l.name} (engine ${l.engine})` })));
      lab = labs[0]?.name ?? "";
      sel.onchange = () => { lab = sel.value; firewall = ""; renderNodes(); };
      renderNodes();
    } else if (msg.kind === "events") {
      addLogs(msg.events);
      for (const e of msg.events) {
        if (e.kind === "conntrack-table" && e.lab === lab && e.node === firewall) renderConntrack(e);
        if (e.kind === "counters" && e.lab === lab) ruleTables.set(e.node, e.tables);
        if (e.kind === "counters" && e.lab === lab && e.node === firewall) renderCounters(e);
        if (e.kind === "loss") $("status").textContent = `live (loss: ${e.reason})`;
      }
    } else if (msg.kind === "rates") {
      if (msg.lab === lab) showRates(msg.pps);
    } else if (msg.kind === "run-started") {
      runStarted(msg);
    } else if (msg.kind === "run-step") {
      runStep(msg);
    } else if (msg.kind === "run-done") {
      if (msg.id === runId) {
        $("run-state").textContent = msg.passed ? "passed" : `failed${msg.error ? `: ${msg.error}` : ""}`;
        $("run-state").className = msg.passed ? "ok" : "fail";
      }
    } else if (msg.kind === "term-output" || msg.kind === "term-exit") {
      terminal.receive(msg);
    } else if (msg.kind === "dropped") {
      $("status").textContent = `live (${msg.count} dropped: ${msg.reason})`;
    }
  };
}

/** Packets per second through each node: on its topology label and in the node table. */
function showRates(pps) {
  const l = labs.find((x) => x.name === lab);
  for (const n of l?.nodes ?? []) {
    const rate = pps[n.name];
    if (rate === undefined) continue;
    graph?.getElementById(n.name).data("label", nodeLabel(labs.find((x) => x.name === lab), n, `\n${rate} pkt/s`));
    const cell = $("nodes").querySelector(`tr[data-node="${n.name}"]`)?.cells[4];
    if (cell) cell.textContent = String(rate);
  }
}

let lastCounts = new Map();
/** Rules with live counters; a rule whose counter rose since the last second lights up. */
function renderCounters(e) {
  const body = $("rule-counters").tBodies[0];
  body.replaceChildren();
  const counts = new Map();
  for (const t of e.tables) {
    for (const c of t.chains) {
      const rows = [...c.rules.map((r) => ({ key: `${t.name} ${c.name} ${r.num}`, num: r.num, packets: r.packets, text: r.spec })),
        ...(c.policy ? [{ key: `${t.name} ${c.name} policy`, num: "policy", packets: c.packets, text: c.policy }] : [])];
      for (const r of rows) {
        counts.set(r.key, r.packets);
        const tr = body.insertRow();
        for (const v of [t.name, c.name, r.num, r.packets, r.text]) tr.insertCell().append(text(v));
        if (lastCounts.has(r.key) && r.packets > lastCounts.get(r.key)) tr.className = "hit";
      }
    }
  }
  lastCounts = counts;
}

// Scenario runs: every step is listed when the run starts and turns green or red as it ends;
// a finished step opens to its checks, evidence, packet trace and failure bundle.
let runId = "";
const stepResults = new Map();
function runStarted(msg) {
  if (msg.lab !== lab) return;
  runId = msg.id;
  stepResults.clear();
  $("run-state").textContent = `running ${msg.file}…`;
  $("run-state").className = "";
  $("step-detail").replaceChildren();
  $("steps").replaceChildren(...msg.scenarios.flatMap((sc) => sc.steps.map((name, i) => {
    const li = document.createElement("li");
    li.className = "pending";
    li.dataset.index = String(i);
    li.append(text(name));
    li.onclick = () => showStep(i);
    return li;
  })));
}
function runStep(msg) {
  if (msg.id !== runId) return;
  const s = msg.step;
  stepResults.set(s.index, msg);
  const li = $("steps").querySelector(`li[data-index="${s.index}"]`);
  if (!li) return;
  li.className = s.passed ? "ok" : "fail";
  li.replaceChildren(text(`${s.passed ? "✓" : "✗"} ${s.name} — ${s.observed}${s.passed ? "" : `: ${s.reason ?? ""}`} (${Math.round(s.durationMs)} ms)`));
}
function showStep(index) {
  for (const li of $("steps").children) li.classList.toggle("selected", li.dataset.index === String(index));
  const msg = stepResults.get(index);
  const box = $("step-detail");
  if (!msg) return box.replaceChildren(text("this step has not finished yet"));
  const s = msg.step;
  const h = (t) => Object.assign(document.createElement("h3"), { textContent: t });
  const lines = (rows) => Object.assign(document.createElement("pre"), { textContent: rows.join("\n") || "(none)" });
  const ev = s.evidence ?? {};
  const parts = [
    h(`${s.name}: expected ${s.expected}, observed ${s.observed}`),
    lines([s.detail, ...(s.why ? [`why: ${s.why}`] : [])]),
    h("checks"),
    lines(s.checks.map((c) => `${c.ok ? "✓" : "✗"} ${c.what}: ${c.detail}`)),
    h("log lines"),
    lines((ev.logs ?? []).map((e) => `${e.node} ${e.source} "${e.prefix}" ${e.fields.src} → ${e.fields.dst} ${e.fields.proto}${e.fields.dpt ? ` dpt ${e.fields.dpt}` : ""}`)),
    h("conntrack"),
    lines((ev.conntrack ?? []).map((e) => `${e.node} ${e.type} ${e.entry.proto} ${e.entry.original.src} → ${e.entry.original.dst}${e.entry.original.dport ? `:${e.entry.original.dport}` : ""} ${e.entry.state ?? ""}`)),
    h("rule counters that moved"),
    lines(Object.entries(ev.counters ?? {}).flatMap(([node, ds]) => ds.map((d) => `${node} ${d.table} ${d.chain} ${d.rule ?? "policy"} +${d.packets} ${d.spec ?? ""}`))),
    h("packet trace"),
    lines((ev.trace ?? []).map((t) => `${t.node} ${t.packetId} ${t.packet ? `${t.packet.src}${t.packet.sport ? `:${t.packet.sport}` : ""} → ${t.packet.dst}${t.packet.dport ? `:${t.packet.dport}` : ""} ` : ""}${t.table}:${t.chain}:${t.rule ?? "policy"} ${t.verdict} ${t.ruleText}`)),
    h("failure bundle"),
  ];
  if (msg.bundleFiles?.length) {
    const ul = document.createElement("ul");
    for (const f of msg.bundleFiles) {
      // Fetched with the token in its header, saved as a download (never rendered here).
      const a = Object.assign(document.createElement("a"), { textContent: f, href: "#" });
      a.addEventListener("click", async (ev) => {
        ev.preventDefault();
        const r = await fetch(`/api/runs/${msg.id}/bundle?path=${encodeURIComponent(f)}`, { headers: { authorization: `Bearer ${token}` } });
        const url = URL.createObjectURL(await r.blob());
        Object.assign(document.createElement("a"), { href: url, download: f.split("/").pop() }).click();
        setTimeout(() => URL.revokeObjectURL(url), 10_000);
      });
      ul.append(Object.assign(document.createElement("li"), {}));
      ul.lastChild.append(a);
    }
    parts.push(ul);
  } else parts.push(lines([s.passed ? "(a passed step leaves no bundle)" : "(none)"]));
  box.replaceChildren(...parts);
}

const terminal = mountTerminal({ $, send: (msg) => ws.send(JSON.stringify(msg)), lab: () => lab });

/** The ruleset as numbered lines; a load error is shown at its line. */
function showRulesetLines(errorLine, message) {
  const items = $("ruleset").value.split("\n").map((l, i) => {
    const li = document.createElement("li");
    li.append(text(l));
    if (i + 1 === errorLine) {
      li.className = "err-line";
      li.append(Object.assign(document.createElement("span"), { className: "err-msg", textContent: message }));
    }
    return li;
  });
  $("ruleset-lines").replaceChildren(...items);
  $("ruleset-lines").querySelector(".err-line")?.scrollIntoView({ block: "nearest" });
}
$("ruleset-file").onchange = async () => {
  const f = $("ruleset-file").files[0];
  if (f) $("ruleset").value = await f.text();
};

for (const id of ["f-node", "f-prefix", "f-addr", "f-port", "f-proto"]) {
  $(id).oninput = () => {
    $("logs").replaceChildren();
    shown = 0;
    queued = recent.filter(logMatches).slice(-MAX_LINES);
    frame ||= requestAnimationFrame(drawLogs);
  };
}
$("pause").onclick = () => {
  paused = !paused;
  $("pause").textContent = paused ? "resume" : "pause";
};
$("load").onclick = async () => {
  $("load-result").textContent = "loading…";
  try {
    const r = await api(`/api/labs/${lab}/nodes/${firewall}/ruleset`, { method: "POST", body: JSON.stringify({ text: $("ruleset").value }) });
    $("load-result").textContent = `loaded ${r.loaded} rules (${r.format}, ${r.backend})`;
    $("load-result").className = "ok";
    selectFirewall(firewall);
    $("ruleset-lines").replaceChildren();
  } catch (e) {
    $("load-result").textContent = e.message;
    $("load-result").className = "fail";
    if (e.body?.line) showRulesetLines(e.body.line, e.message);
  }
};
$("run").onclick = async () => {
  try {
    await api("/api/runs", { method: "POST", body: JSON.stringify({ file: $("scenario").value, lab }) });
  } catch (e) {
    $("run-state").textContent = e.message;
    $("run-state").className = "fail";
  }
};

api("/api/scenarios").then((files) => {
  $("scenario").replaceChildren(...files.map((f) => Object.assign(document.createElement("option"), { value: f, textContent: f })));
});
connect();
