// fwlab's probe agent: one long-lived process per node, started by fwlab over one attached
// stream. It reads JSON requests on stdin, one per line, runs each probe from inside this node
// (its own sockets, or the real client program), and writes JSON lines back:
//   -> {"id":1,"probe":"tcp","params":{"host":"10.0.2.80","port":80,"waitMs":5000,"localPort":61000}}
//   <- {"id":1,"flow":{"proto":"tcp","dst":"10.0.2.80","dport":80,"sport":61000}}   before each connection
//   <- {"id":1,"flow":{...},"answered":true}   its first packet was answered (connected, replied)
//   <- {"id":1,"verdict":"ok","detail":"connected","durationMs":0.4,"facts":{...}}  the result
//   -> {"id":1,"cancel":true}   fwlab decided (a firewall dropped the packet): stop at once
// Verdicts: ok, timeout (no answer: dropped), refused (TCP reset or ICMP port unreachable),
// unreachable (other ICMP errors, e.g. host-prohibited), error (the probe itself could not run).
// Each probe kind is one file in probes/ exporting `async (params, ctx) => result`.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const readline = require("node:readline");

// ssh refuses a key others can read; the image's copy is world-readable for every role.
try {
  fs.mkdirSync("/run/fwlab", { recursive: true });
  fs.copyFileSync("/etc/fwlab/keys/student", "/run/fwlab/probe-key");
  fs.chmodSync("/run/fwlab/probe-key", 0o600);
} catch {}

const dir = path.join(__dirname, "probes");
const probes = Object.fromEntries(
  fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".js"))
    .map((f) => [f.slice(0, -3), require(path.join(dir, f))]),
);

const now = () => Number(process.hrtime.bigint()) / 1e6;
const write = (msg) => process.stdout.write(`${JSON.stringify(msg)}\n`);

// Probes in flight, so fwlab can cancel one it has decided.
const inFlight = new Map();

const rl = readline.createInterface({ input: process.stdin });
// fwlab closed the stream (or died: the engine closes stdin then): nothing is left to answer.
rl.on("close", () => process.exit(0));
rl.on("line", async (line) => {
  let req;
  try {
    req = JSON.parse(line);
  } catch {
    return;
  }
  if (req.cancel) return inFlight.get(req.id)?.abort();
  const fn = probes[req.probe];
  const t0 = now();
  const ac = new AbortController();
  inFlight.set(req.id, ac);
  const ctx = {
    id: req.id,
    signal: ac.signal,
    flow: (flow) => write({ id: req.id, flow }),
    answered: (flow) => write({ id: req.id, flow, answered: true }),
  };
  let res;
  try {
    res = fn ? await fn(req.params, ctx) : { verdict: "error", detail: `unknown probe ${req.probe}; this agent has ${Object.keys(probes).join(", ")}` };
  } catch (e) {
    res = { verdict: "error", detail: String(e && e.message) };
  }
  // Failed already (see uncaughtException below): its verdict was written.
  if (!inFlight.delete(req.id)) return;
  // endedAt: when the probe ended, on this host's clock (a check of the conntrack table "at the
  // step's end" means then, not when a busy fwlab got round to reading the verdict).
  write({ id: req.id, ...res, durationMs: now() - t0, endedAt: Date.now() });
});
// A probe that throws from a callback (a bug: a UDP send on a socket that never connected once
// did) would end the agent, and with it every later probe from this node ("the probe agent
// ended"). It cannot be told which probe threw: those in flight fail, saying why; the agent goes on.
process.on("uncaughtException", (e) => {
  for (const [id, ac] of inFlight) {
    ac.abort();
    write({ id, verdict: "error", detail: `the probe failed inside the node: ${e && e.message}`, durationMs: 0, endedAt: Date.now() });
  }
  inFlight.clear();
});
write({ ready: true, probes: Object.keys(probes) });
