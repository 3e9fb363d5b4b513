// http: one GET over one connection from fwlab's source port, HTTP or HTTPS (the lab's
// certificates are self-signed: not verified).
"use strict";
const httpClient = require("node:http");
const net = require("node:net");
const tls = require("node:tls");
const { connect, socketVerdict } = require("../probe-lib.js");

module.exports = async function http({ host, port, https, path, waitMs, localPort }, ctx) {
  const dport = port ?? (https ? 443 : 80);
  const url = `${https ? "https" : "http"}://${host.includes(":") ? `[${host}]` : host}${port ? `:${port}` : ""}${path ?? "/"}`;
  const c = await connect(ctx, { host, port: dport, localPort, waitMs });
  if (!c.socket) return { ...c, detail: `${url}: ${c.detail}` };
  const socket = https ? tls.connect({ socket: c.socket, servername: net.isIP(host) ? undefined : host, rejectUnauthorized: false }) : c.socket;
  // The connection is up: the server's answer may take a while on a busy machine.
  const answerMs = waitMs + 5000;
  return new Promise((resolve) => {
    let settled = false;
    const done = (r) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      ctx.signal.removeEventListener("abort", onAbort);
      socket.destroy();
      resolve({ ...r, facts: { local: c.local, ...r.facts } });
    };
    const timer = setTimeout(() => done({ verdict: "timeout", detail: `${url}: connected, but no answer within ${answerMs} ms` }), answerMs);
    const onAbort = () => done({ verdict: "timeout", detail: "cancelled" });
    ctx.signal.addEventListener("abort", onAbort, { once: true });
    const req = httpClient.request(
      { host, port: dport, path: path ?? "/", method: "GET", headers: { "User-Agent": "fwlab-probe", Connection: "close" }, createConnection: () => socket },
      (res) => {
        const chunks = [];
        res.on("data", (d) => chunks.push(d));
        res.on("end", () =>
          done({ verdict: "ok", detail: `HTTP ${res.statusCode}`, facts: { status: res.statusCode, body: Buffer.concat(chunks).toString("utf8") } }),
        );
        res.on("error", (e) => done({ ...socketVerdict(e, url), detail: `${url}: the answer broke off: ${e.message}` }));
      },
    );
    req.on("error", (e) => done(e.code === "ECONNRESET" ? { verdict: "refused", detail: `${url}: the connection was reset` } : { verdict: "error", detail: `${url}: ${e.message}` }));
    req.end();
  });
};
