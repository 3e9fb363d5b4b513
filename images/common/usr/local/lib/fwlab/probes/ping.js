// ping: exactly `count` echo requests, `intervalMs` apart (iputils ping). One echo is a flow fwlab watches.
"use strict";
const { run, runAnnounced, icmpVerdict } = require("../probe-lib.js");

module.exports = async function ping({ host, count, intervalMs, waitMs }, ctx) {
  const n = count ?? 1;
  const waitS = Math.max(0.2, waitMs / 1000); // iputils takes fractions of a second
  const gapMs = intervalMs ?? 1000; // below 200 ms needs root, which the agent is
  const args = ["-n", "-c", String(n), "-i", String(gapMs / 1000), "-W", String(waitS), host];
  const opts = { timeoutMs: waitMs + n * gapMs + 2000, signal: ctx.signal };
  // One echo is a flow fwlab watches, told once ping has its socket.
  const r = await (n === 1 ? runAnnounced(ctx, { proto: "icmp", dst: host }, "ping", args, opts) : run("ping", args, opts));
  const received = Number(/(\d+) received/.exec(r.stdout)?.[1] ?? 0);
  if (received > 0) {
    const of = n > 1 ? `${received} of ${n} echo replies` : "an echo reply";
    return { verdict: "ok", detail: `${of} from ${host}`, facts: { received } };
  }
  const icmp = icmpVerdict(r.stdout + r.stderr);
  const line = (r.stdout.split("\n").find((l) => /From |Unreachable|Prohibited/i.test(l)) ?? "").trim();
  if (icmp) return { verdict: icmp, detail: line || `ICMP error for echo to ${host}` };
  if (r.code === 2 && !/transmitted/.test(r.stdout)) return { verdict: "error", detail: (r.stderr || r.stdout).trim() };
  return { verdict: "timeout", detail: `no echo reply from ${host} within ${waitS} s` };
};
