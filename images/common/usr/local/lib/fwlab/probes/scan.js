// scan: nmap with one technique over the named ports: one probe packet per port, no retries (a
// retried ACK meets the state the first one left in the firewall's conntrack and is INVALID
// there: a probe must send exactly what it names). No adaptive timeouts either: a late answer on
// a busy machine is still an answer, so a port is "filtered" only after 500 ms-1 s of silence.
// Ports go in the order of their numbers (-r), not nmap's shuffle: a ruleset that reacts to a
// scan (the Arch wiki's TCP-PORTSCAN "recent" list rejects every port after the first closed one)
// gives the same states every run.
"use strict";
const net = require("node:net");
const { run } = require("../probe-lib.js");

const FLAGS = { syn: "-sS", null: "-sN", xmas: "-sX", ack: "-sA", fin: "-sF", connect: "-sT", udp: "-sU" };

module.exports = async function scan({ host, ports, technique, flags, waitMs }, ctx) {
  const flag = FLAGS[technique ?? "syn"];
  if (!flag) return { verdict: "error", detail: `unknown scan technique ${technique}` };
  const r = await run(
    "nmap",
    ["-n", "-Pn", ...(net.isIPv6(host) ? ["-6"] : []), flag, ...(flags ? ["--scanflags", flags] : []), "-r", "-p", ports, "--max-retries", "0",
      "--min-rtt-timeout", "500ms", "--initial-rtt-timeout", "500ms", "--max-rtt-timeout", "1000ms", "--host-timeout", `${Math.max(2, Math.ceil(waitMs / 1000) * 4)}s`, "-oX", "-", host],
    { timeoutMs: waitMs * 10 + 10000, signal: ctx.signal },
  );
  if (r.code !== 0 && !r.stdout.includes("<nmaprun")) return { verdict: "error", detail: `nmap: ${r.stderr.trim()}` };
  const results = {};
  for (const m of r.stdout.matchAll(/<port protocol="(\w+)" portid="(\d+)"><state state="([\w|]+)" reason="([\w-]+)"/g)) {
    results[m[2]] = { state: m[3], reason: m[4] };
  }
  return { verdict: "ok", detail: Object.entries(results).map(([p, s]) => `${p} ${s.state} (${s.reason})`).join(", "), facts: { ports: results } };
};
