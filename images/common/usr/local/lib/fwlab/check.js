// Readiness checks run inside a node against its own lab address, retried until a deadline:
//   node check.js banner HOST PORT PREFIX   a TCP server greets with PREFIX (sshd, vsftpd)
//   node check.js dns HOST                   a DNS server answers a query (any rcode)
//   node check.js http URL                   a web server answers (any status)
//   node check.js file PATH                  a file exists (a service wrote it when bound)
// Exit 0 when the check passes, 1 at the deadline (FWLAB_READY_TIMEOUT seconds, default 30).
"use strict";
const net = require("node:net");
const dgram = require("node:dgram");
const fs = require("node:fs");
const http = require("node:http");
const https = require("node:https");

const deadline = Date.now() + Number(process.env.FWLAB_READY_TIMEOUT || 30) * 1000;
const [kind, ...args] = process.argv.slice(2);

function banner(host, port, prefix) {
  return new Promise((resolve) => {
    const s = net.connect({ host, port: Number(port) });
    let got = "";
    s.setTimeout(1000, () => { s.destroy(); resolve(false); });
    s.on("data", (d) => { got += d; if (got.length >= prefix.length) { s.destroy(); resolve(got.startsWith(prefix)); } });
    s.on("error", () => resolve(false));
    s.on("close", () => resolve(false));
  });
}

function dns(host) {
  // "version.bind CH TXT": dnsmasq and BIND answer it themselves, never forward it, so a reply
  // means this server answers (not an upstream that may be unreachable).
  const name = [7, ..."version".split("").map((c) => c.charCodeAt(0)), 4, ..."bind".split("").map((c) => c.charCodeAt(0)), 0];
  const query = Buffer.from([0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, ...name, 0, 16, 0, 3]);
  return new Promise((resolve) => {
    const s = dgram.createSocket("udp4");
    const t = setTimeout(() => { s.close(); resolve(false); }, 500);
    s.on("message", (m) => { clearTimeout(t); s.close(); resolve(m.length >= 12 && m[0] === 0x12 && m[1] === 0x34); });
    s.on("error", () => { clearTimeout(t); s.close(); resolve(false); });
    s.send(query, 53, host);
  });
}

function httpGet(url) {
  const mod = url.startsWith("https:") ? https : http;
  return new Promise((resolve) => {
    const req = mod.get(url, { rejectUnauthorized: false, timeout: 1000 }, (res) => { res.resume(); resolve(true); });
    req.on("timeout", () => { req.destroy(); resolve(false); });
    req.on("error", () => resolve(false));
  });
}

const checks = {
  banner: () => banner(args[0], args[1], args[2]),
  dns: () => dns(args[0]),
  http: () => httpGet(args[0]),
  file: async () => fs.existsSync(args[0]),
};

(async () => {
  const check = checks[kind];
  if (!check) { console.error(`check.js: unknown check "${kind}"`); process.exit(2); }
  while (Date.now() < deadline) {
    if (await check()) process.exit(0);
    await new Promise((r) => setTimeout(r, 20));
  }
  console.error(`check.js: ${kind} ${args.join(" ")} did not pass`);
  process.exit(1);
})();
