// The dashboard page: it renders the server's typed messages (src/server/protocol.ts) and calls
// its REST API; it never parses tool output. Every request carries the token from the URL.
const token = new URLSearchParams(location.search).get("token") ?? "";
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
    ...(l?.nodes ?? []).map((n) => ({ data: { id: n.name, label: `${n.name}\n${n.role}`, kind: n.firewall ? "firewall" : "node", state: n.state } })),
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
  graph.on("tap", "node", (evt) => {
    const n = l.nodes.find((x) => x.name === evt.target.id());
    $("node-details").textContent = n ? `${n.name}: ${n.role}, ${n.state}, ${n.image}, ${Object.entries(n.addresses).map(([k, v]) => `${k} ${v}`).join(", ")}` : evt.target.id();
    if (n?.firewall) selectFirewall(n.name);
  });
}

function renderNodes() {
  const l = labs.find((x) => x.name === lab);
  if (window.cytoscape) renderTopology(l);
  const body = $("nodes").tBodies[0];
  body.replaceChildren();
  for (const n of l?.nodes ?? []) {
    const tr = body.insertRow();
    tr.className = n.firewall ? "fw" : "";
    for (const v of [n.name + (n.firewall ? " ★" : ""), n.role, Object.entries(n.addresses).map(([k, v]) => `${k} ${v}`).join(", "), n.state]) tr.insertCell().append(text(v));
    tr.onclick = () => n.firewall && selectFirewall(n.name);
  }
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

function addLogs(events) {
  if (paused) return;
  const box = $("logs");
  const frag = document.createDocumentFragment();
  for (const e of events) {
    if (e.kind !== "packet-log" || !logMatches(e)) continue;
    const p = e.fields;
    const div = document.createElement("div");
    div.className = "log";
    div.append(text(`${new Date(e.time).toISOString().slice(11, 23)} ${e.node} ${e.source} "${e.prefix}" ${p.src}${p.spt ? `:${p.spt}` : ""} → ${p.dst}${p.dpt ? `:${p.dpt}` : ""} ${p.proto} ${p.tcpFlags?.join(",") ?? ""} in ${p.in ?? "-"} out ${p.out ?? "-"}`));
    frag.append(div);
    shown++;
  }
  box.append(frag);
  // Bounded: a page that shows 10,000 lines a minute keeps only the newest.
  while (box.childElementCount > MAX_LINES) box.firstElementChild.remove();
  box.scrollTop = box.scrollHeight;
  $("log-count").textContent = `${shown} shown`;
}

function connect() {
  const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws?token=${encodeURIComponent(token)}`);
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
      sel.replaceChildren(...labs.map((l) => Object.assign(document.createElement("option"), { value: l.name, textContent: l.name })));
      lab = labs[0]?.name ?? "";
      sel.onchange = () => { lab = sel.value; firewall = ""; renderNodes(); };
      renderNodes();
    } else if (msg.kind === "events") {
      addLogs(msg.events);
      for (const e of msg.events) {
        if (e.kind === "conntrack-table" && e.lab === lab && e.node === firewall) renderConntrack(e);
        if (e.kind === "counters" && e.lab === lab && e.node === firewall) renderCounters(e);
        if (e.kind === "notice" && e.message.startsWith("run ")) addStep(e.message);
        if (e.kind === "loss") $("status").textContent = `live (loss: ${e.reason})`;
      }
    } else if (msg.kind === "dropped") {
      $("status").textContent = `live (${msg.count} dropped: ${msg.reason})`;
    }
  };
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

function addStep(message) {
  const li = document.createElement("li");
  li.className = message.includes("✓") ? "ok" : "fail";
  li.append(text(message.replace(/^run \w+: /, "")));
  $("steps").append(li);
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
  } catch (e) {
    $("load-result").textContent = e.message;
    $("load-result").className = "fail";
  }
};
$("run").onclick = async () => {
  $("steps").replaceChildren();
  try {
    await api("/api/runs", { method: "POST", body: JSON.stringify({ file: $("scenario").value }) });
  } catch (e) {
    addStep(`run x: ✗ ${e.message}`);
  }
};

api("/api/scenarios").then((files) => {
  $("scenario").replaceChildren(...files.map((f) => Object.assign(document.createElement("option"), { value: f, textContent: f })));
});
connect();
