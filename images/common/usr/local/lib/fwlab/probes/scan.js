// scan: nmap with one technique over the named ports (its own retries and timing).
"use strict";
const { run } = require("../probe-lib.js");

const FLAGS = { syn: "-sS", null: "-sN", xmas: "-sX", ack: "-sA", fin: "-sF", connect: "-sT", udp: "-sU" };

module.exports = async function scan({ host, ports, technique, flags, waitMs }, ctx) {
  const flag = FLAGS[technique ?? "syn"];
  if (!flag) return { verdict: "error", detail: `unknown scan technique ${technique}` };
  const r = await run(
    "nmap",
    ["-n", "-Pn", flag, ...(flags ? ["--scanflags", flags] : []), "-p", ports, "--max-retries", "1",
      "--initial-rtt-timeout", "50ms", "--max-rtt-timeout", "200ms", "--host-timeout", `${Math.max(2, Math.ceil(waitMs / 1000) * 4)}s`, "-oX", "-", host],
    { timeoutMs: waitMs * 10 + 10000, signal: ctx.signal },
  );
  if (r.code !== 0 && !r.stdout.includes("<nmaprun")) return { verdict: "error", detail: `nmap: ${r.stderr.trim()}` };
  const results = {};
  for (const m of r.stdout.matchAll(/<port protocol="(\w+)" portid="(\d+)"><state state="([\w|]+)" reason="([\w-]+)"/g)) {
    results[m[2]] = { state: m[3], reason: m[4] };
  }
  return { verdict: "ok", detail: Object.entries(results).map(([p, s]) => `${p} ${s.state} (${s.reason})`).join(", "), facts: { ports: results } };
};
