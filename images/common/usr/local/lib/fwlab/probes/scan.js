// scan: nmap with one technique over the named ports: one probe packet per port, no retries (a
// retried ACK meets the state the first one left in the firewall's conntrack and is INVALID
// there: a probe must send exactly what it names). No adaptive timeouts either: a late answer on
// a busy machine is still an answer, so a port is "filtered" only after 500 ms-1 s of silence.
// Ports go in the order of their numbers (-r), not nmap's shuffle: a ruleset that reacts to a
// scan (the Arch wiki's TCP-PORTSCAN "recent" list rejects every port after the first closed one)
// gives the same states every run. At most 500 probes a second: a kernel sends at most 1000
// ICMP errors a second after a burst of 50 (icmp_msgs_per_sec, with some randomness since
// CVE-2020-25705), so a faster UDP scan of 200 closed ports found half of them "open|filtered",
// which ones depending on the pace.
"use strict";
const net = require("node:net");
const { run } = require("../probe-lib.js");

const FLAGS = { syn: "-sS", null: "-sN", xmas: "-sX", ack: "-sA", fin: "-sF", connect: "-sT", udp: "-sU" };

const MAX_RATE = 500;

module.exports = async function scan({ host, ports, technique, flags, waitMs }, ctx) {
  const flag = FLAGS[technique ?? "syn"];
  const pacedS = Math.ceil(String(ports).split(",").length / MAX_RATE);
  if (!flag) return { verdict: "error", detail: `unknown scan technique ${technique}` };
  const r = await run(
    "nmap",
    ["-n", "-Pn", ...(net.isIPv6(host) ? ["-6"] : []), flag, ...(flags ? ["--scanflags", flags] : []), "-r", "-p", ports, "--max-retries", "0", "--max-rate", String(MAX_RATE),
      "--min-rtt-timeout", "500ms", "--initial-rtt-timeout", "500ms", "--max-rtt-timeout", "1000ms", "--host-timeout", `${Math.max(2, Math.ceil(waitMs / 1000) * 4) + pacedS}s`, "-oX", "-", host],
    { timeoutMs: waitMs * 10 + 10000 + pacedS * 1000, signal: ctx.signal },
  );
  if (r.code !== 0 && !r.stdout.includes("<nmaprun")) return { verdict: "error", detail: `nmap: ${r.stderr.trim()}` };
  const results = {};
  for (const m of r.stdout.matchAll(/<port protocol="(\w+)" portid="(\d+)"><state state="([\w|]+)" reason="([\w-]+)"/g)) {
    results[m[2]] = { state: m[3], reason: m[4] };
  }
  // More than a couple of dozen ports in one state are not listed one by one but summed up, each
  // reason with its ports: <extraports state="closed"><extrareasons reason="port-unreach" ports="22,9100-9140"/>.
  for (const x of r.stdout.matchAll(/<extraports state="([\w|]+)"[^>]*>([\s\S]*?)<\/extraports>/g)) {
    for (const e of x[2].matchAll(/<extrareasons reason="([\w-]+)"[^>]*\bports="([\d,-]+)"/g)) {
      for (const p of expandPorts(e[2])) results[p] ??= { state: x[1], reason: e[1] };
    }
  }
  return { verdict: "ok", detail: describe(results), facts: { ports: results } };
};

/** "22,9100-9102" as ["22", "9100", "9101", "9102"]. */
function expandPorts(list) {
  return list.split(",").flatMap((part) => {
    const [a, b = a] = part.split("-").map(Number);
    return Array.from({ length: b - a + 1 }, (_, i) => String(a + i));
  });
}

/** Each port's state, or for many ports how many are in each state. */
function describe(results) {
  const all = Object.entries(results);
  if (all.length <= 10) return all.map(([p, s]) => `${p} ${s.state} (${s.reason})`).join(", ");
  const counts = new Map();
  for (const [, s] of all) counts.set(`${s.state} (${s.reason})`, (counts.get(`${s.state} (${s.reason})`) ?? 0) + 1);
  return [...counts].map(([what, n]) => `${n} port${n === 1 ? "" : "s"} ${what}`).join(", ");
}
