// The generic service host: listens on every port it is given ("tcp:25", "udp:123",
// "tcp:6881-6890") and answers like a tiny server would, so a firewall rule for that
// service can be tested without the real daemon. Each reply names the service and the
// client's address as the server saw it (proof of NAT from the far side).
// Writes /run/fwlab/services.ready once every port is bound.
"use strict";
const net = require("node:net");
const dgram = require("node:dgram");
const fs = require("node:fs");

const specs = process.argv.slice(2);
if (specs.length === 0) { console.error("services.js: no ports given (e.g. tcp:25 udp:123)"); process.exit(2); }

const ports = [];
for (const spec of specs) {
  const m = /^(tcp|udp):(\d+)(?:-(\d+))?$/.exec(spec);
  if (!m) { console.error(`services.js: bad port spec "${spec}" (want tcp:N, udp:N or tcp:N-M)`); process.exit(2); }
  const from = Number(m[2]);
  const to = Number(m[3] ?? m[2]);
  for (let p = from; p <= to; p++) ports.push({ proto: m[1], port: p });
}

function listen({ proto, port }) {
  return new Promise((resolve, reject) => {
    if (proto === "tcp") {
      const server = net.createServer((s) => {
        s.on("error", () => {});
        s.write(`220 fwlab tcp/${port} ${s.remoteAddress}:${s.remotePort}\r\n`);
        s.on("data", (d) => s.write(d));
      });
      server.on("error", reject);
      server.listen(port, "0.0.0.0", resolve);
    } else {
      const s = dgram.createSocket("udp4");
      s.on("message", (msg, rinfo) => {
        s.send(`fwlab udp/${port} ${rinfo.address}:${rinfo.port} ${msg}`, rinfo.port, rinfo.address);
      });
      s.on("error", reject);
      s.bind(port, "0.0.0.0", resolve);
    }
  });
}

Promise.all(ports.map(listen)).then(
  () => {
    fs.mkdirSync("/run/fwlab", { recursive: true });
    fs.writeFileSync("/run/fwlab/services.ready", specs.join(" ") + "\n");
    console.log(`services: listening on ${specs.join(" ")}`);
  },
  (err) => { console.error(`services.js: ${err.message}`); process.exit(1); },
);
