// dns: one query with dig, over UDP or one TCP connection, from fwlab's source port.
"use strict";
const { runAnnounced } = require("../probe-lib.js");

module.exports = async function dns({ server, name, type, tcp: overTcp, waitMs, localPort }, ctx) {
  const waitS = Math.max(1, Math.ceil(waitMs / 1000)); // dig counts whole seconds
  const args = [`@${server}`, name, type ?? "A", "+tries=1", "+retry=0", `+time=${waitS}`, "+noall", "+answer", "+comments"];
  if (overTcp) args.push("+tcp");
  if (localPort) args.push("-b", `${server.includes(":") ? "::" : "0.0.0.0"}#${localPort}`);
  const flow = { proto: overTcp ? "tcp" : "udp", dst: server, dport: 53, sport: localPort };
  const r = await runAnnounced(ctx, flow, "dig", args, { timeoutMs: waitS * 1000 + 2000, signal: ctx.signal });
  const out = r.stdout + r.stderr;
  const status = /status: (\w+)/.exec(out)?.[1];
  if (status) {
    const answers = out
      .split("\n")
      .filter((l) => l && !l.startsWith(";"))
      .map((l) => l.trim().split(/\s+/).slice(4).join(" "));
    return { verdict: "ok", detail: `${status}: ${answers.join(", ") || "no answer records"}`, facts: { status, answers } };
  }
  if (/refused/i.test(out)) return { verdict: "refused", detail: `${server} refused (ICMP port unreachable or TCP reset)` };
  if (/unreachable|no route/i.test(out)) return { verdict: "unreachable", detail: out.trim().split("\n")[0] };
  if (/timed out|no servers could be reached/i.test(out)) return { verdict: "timeout", detail: `no answer from ${server} within ${waitS} s` };
  return { verdict: "error", detail: out.trim().split("\n")[0] || `dig exited ${r.code}` };
};
