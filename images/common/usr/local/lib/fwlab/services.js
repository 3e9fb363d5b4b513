// The services host (the lab's "internet"): real servers on the ports it is given, and a
// generic answer on any other port. Each spec is PROTOCOL:PORT:
//   http:80, https:443    HTTP(S) (Node's server; the lab's self-signed certificate); GET /whoami
//                         answers with the client's address and port as the server saw them
//                         (proof of NAT from the far side), GET / with a short page
//   ssh:22                OpenSSH's sshd (user student/student, the lab key)
//   smtp:25               an SMTP server: greeting, EHLO/HELO (naming the client), MAIL, RCPT,
//                         DATA, RSET, NOOP, QUIT
//   dns:53                dnsmasq over UDP and TCP: the lab's names, and anything under
//                         example.com as this host
//   echo:7                RFC 862 echo over UDP and TCP
//   tcp:N, tcp:N-M        a banner line "220 fwlab tcp/N <client>:<port>", then an echo
//   udp:N, udp:N-M        one datagram back: "fwlab udp/N <client>:<port> <what it got>"
// Writes /run/fwlab/services.ready once every server answers.
"use strict";
const net = require("node:net");
const dgram = require("node:dgram");
const fs = require("node:fs");
const http = require("node:http");
const https = require("node:https");
const os = require("node:os");
const { spawn } = require("node:child_process");

const PROTOCOLS = ["tcp", "udp", "http", "https", "ssh", "smtp", "dns", "echo"];
const specs = process.argv.slice(2);
if (specs.length === 0) fail("no ports given (e.g. http:80 ssh:22 udp:123)");

const ports = [];
for (const spec of specs) {
  const m = /^(\w+):(\d+)(?:-(\d+))?$/.exec(spec);
  if (!m || !PROTOCOLS.includes(m[1])) fail(`bad port spec "${spec}" (want PROTOCOL:N or tcp/udp:N-M; protocols: ${PROTOCOLS.join(", ")})`);
  const from = Number(m[2]);
  const to = Number(m[3] ?? m[2]);
  if (m[3] && !["tcp", "udp"].includes(m[1])) fail(`"${spec}": only tcp and udp take a range`);
  for (let p = from; p <= to; p++) ports.push({ proto: m[1], port: p });
}

function fail(msg) {
  console.error(`services.js: ${msg}`);
  process.exit(2);
}

const name = os.hostname();
// A dual-stack node listens on IPv6 too (one socket: IPv4 clients show as ::ffff:a.b.c.d).
const ANY = process.env.FWLAB_ADDR6 ? "::" : "0.0.0.0";
const bare = (a) => a.replace(/^::ffff:(?=\d+\.)/, "");
// "10.0.1.10:41234", "[2001:db8:1::10]:41234"
const hostPort = (a, port) => (bare(a).includes(":") ? `[${bare(a)}]:${port}` : `${bare(a)}:${port}`);
const peer = (s) => hostPort(s.remoteAddress, s.remotePort);

function listenTcp(port, onConnection) {
  return new Promise((resolve, reject) => {
    const server = net.createServer((s) => {
      s.on("error", () => {});
      onConnection(s);
    });
    server.on("error", reject);
    server.listen(port, ANY, resolve);
  });
}

function listenUdp(port, onMessage) {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket(ANY === "::" ? "udp6" : "udp4");
    s.on("message", (msg, rinfo) => onMessage(s, msg, rinfo));
    s.on("error", reject);
    s.bind(port, ANY, resolve);
  });
}

function web(port, tls) {
  const handler = (req, res) => {
    const who = `${bare(req.socket.remoteAddress)} ${req.socket.remotePort}\n`;
    const body = req.url === "/whoami" ? who : req.url === "/" ? `fwlab services host ${name}: ${tls ? "https" : "http"}/${port}\n` : undefined;
    res.writeHead(body === undefined ? 404 : 200, { "Content-Type": "text/plain", Server: "fwlab" });
    res.end(body ?? "not found\n");
  };
  const server = tls
    ? https.createServer({ key: fs.readFileSync("/etc/fwlab/tls/key.pem"), cert: fs.readFileSync("/etc/fwlab/tls/cert.pem") }, handler)
    : http.createServer(handler);
  return new Promise((resolve, reject) => {
    server.on("error", reject);
    server.listen(port, ANY, resolve);
  });
}

// RFC 5321, as much as a client or a port scanner meets: no mail is kept.
function smtp(port) {
  return listenTcp(port, (s) => {
    s.write(`220 ${name} ESMTP fwlab (you are ${peer(s)})\r\n`);
    let buf = "";
    let data = false;
    s.on("data", (d) => {
      buf += d.toString("latin1");
      let nl = buf.indexOf("\n");
      while (nl >= 0) {
        const line = buf.slice(0, nl).replace(/\r$/, "");
        buf = buf.slice(nl + 1);
        nl = buf.indexOf("\n");
        if (data) {
          if (line === ".") {
            data = false;
            s.write("250 2.0.0 Ok: queued (and dropped: a lab server keeps no mail)\r\n");
          }
          continue;
        }
        const verb = line.split(" ")[0].toUpperCase();
        if (verb === "EHLO") s.write(`250-${name} Hello ${peer(s)}\r\n250-PIPELINING\r\n250 8BITMIME\r\n`);
        else if (verb === "HELO") s.write(`250 ${name} Hello ${peer(s)}\r\n`);
        else if (verb === "MAIL" || verb === "RCPT" || verb === "RSET" || verb === "NOOP") s.write("250 2.0.0 Ok\r\n");
        else if (verb === "DATA") {
          data = true;
          s.write("354 End data with <CR><LF>.<CR><LF>\r\n");
        } else if (verb === "QUIT") s.end("221 2.0.0 Bye\r\n");
        else s.write("502 5.5.2 Error: command not recognized\r\n");
      }
    });
  });
}

function echo(port) {
  return Promise.all([
    listenTcp(port, (s) => s.pipe(s)),
    listenUdp(port, (sock, msg, rinfo) => sock.send(msg, rinfo.port, rinfo.address)),
  ]);
}

function generic({ proto, port }) {
  if (proto === "tcp")
    return listenTcp(port, (s) => {
      s.write(`220 fwlab tcp/${port} ${peer(s)}\r\n`);
      s.on("data", (d) => s.write(d));
    });
  return listenUdp(port, (sock, msg, rinfo) =>
    sock.send(`fwlab udp/${port} ${hostPort(rinfo.address, rinfo.port)} ${msg}`, rinfo.port, rinfo.address),
  );
}

/** A daemon of its own (sshd, dnsmasq): started, then answered on its port the way a peer would. */
function daemon(argv, port) {
  const child = spawn(argv[0], argv.slice(1), { stdio: ["ignore", "inherit", "inherit"] });
  child.on("exit", (code) => {
    console.error(`services.js: ${argv[0]} on port ${port} exited (${code})`);
    process.exit(1);
  });
  process.on("exit", () => child.kill());
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + 20000;
    const attempt = () => {
      const s = net.connect({ host: "127.0.0.1", port }, () => {
        s.destroy();
        resolve();
      });
      s.on("error", () => (Date.now() > deadline ? reject(new Error(`${argv[0]} does not answer on ${port}`)) : setTimeout(attempt, 20)));
    };
    attempt();
  });
}

function start({ proto, port }) {
  switch (proto) {
    case "http":
      return web(port, false);
    case "https":
      return web(port, true);
    case "smtp":
      return smtp(port);
    case "echo":
      return echo(port);
    case "ssh":
      fs.mkdirSync("/run/sshd", { recursive: true });
      return daemon(["/usr/sbin/sshd", "-D", "-e", "-o", "UseDNS=no", "-p", String(port)], port);
    case "dns":
      return daemon(
        ["dnsmasq", "--keep-in-foreground", "--no-resolv", "--log-facility=-", `--port=${port}`, "--bind-dynamic",
          `--domain=${process.env.FWLAB_DOMAIN || "lab"}`, "--expand-hosts", `--address=/example.com/${process.env.FWLAB_ADDR || "127.0.0.1"}`],
        port,
      );
    default:
      return generic({ proto, port });
  }
}

for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => process.exit(0));

Promise.all(ports.map(start)).then(
  () => {
    fs.mkdirSync("/run/fwlab", { recursive: true });
    fs.writeFileSync("/run/fwlab/services.ready", `${specs.join(" ")}\n`);
    console.log(`services: ${specs.join(" ")}`);
  },
  (err) => fail(err.message),
);
