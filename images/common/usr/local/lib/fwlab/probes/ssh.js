// ssh: one TCP connection from fwlab's source port, and the real OpenSSH client logging in over
// it: ssh's ProxyCommand joins a unix socket this agent serves, piped to that connection. So
// the login sends exactly one SYN, and a dropped one is told as fast as any TCP probe's.
"use strict";
const net = require("node:net");
const fs = require("node:fs");
const { connect, run } = require("../probe-lib.js");

const KEY = "/run/fwlab/probe-key";

/** Serves one connection on a unix socket, joined both ways to `socket`. */
function proxy(path, socket) {
  return new Promise((resolve, reject) => {
    fs.rmSync(path, { force: true });
    const server = net.createServer((u) => {
      server.close(); // one ProxyCommand per login
      u.on("error", () => {});
      u.pipe(socket);
      socket.pipe(u);
    });
    server.on("error", reject);
    server.listen(path, () => resolve(server));
  });
}

module.exports = async function ssh({ host, port, user, auth, password, command, waitMs, localPort }, ctx) {
  const c = await connect(ctx, { host, port: port ?? 22, localPort, waitMs });
  if (!c.socket) return { ...c, detail: `ssh ${host}: ${c.detail}` };
  const path = `/run/fwlab/ssh-${process.pid}-${ctx.id}.sock`;
  const server = await proxy(path, c.socket);
  const args = [
    "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
    "-o", "NumberOfPasswordPrompts=1", "-o", `ProxyCommand=socat - UNIX-CONNECT:${path}`, "-p", String(port ?? 22),
  ];
  const env = {};
  if (auth === "password") {
    args.push("-o", "PreferredAuthentications=password,keyboard-interactive", "-o", "PubkeyAuthentication=no");
    Object.assign(env, { SSH_ASKPASS: "/usr/local/lib/fwlab/askpass", SSH_ASKPASS_REQUIRE: "force", FWLAB_PASSWORD: password ?? "", DISPLAY: ":0" });
  } else {
    args.push("-o", "BatchMode=yes", "-i", KEY);
  }
  // The connection is up: what remains is the SSH exchange itself, given waitMs more than a
  // connect (key exchange and login cost CPU on a busy machine).
  const loginMs = waitMs + 5000;
  const r = await run("ssh", [...args, `${user}@${host}`, command ?? "true"], { timeoutMs: loginMs, env, signal: ctx.signal });
  server.close();
  c.socket.destroy();
  fs.rmSync(path, { force: true });
  const err = r.stderr.trim();
  const facts = { local: c.local };
  if (r.code === 0) return { verdict: "ok", detail: `logged in as ${user}`, facts: { ...facts, output: r.stdout } };
  if (r.code === "killed") return { verdict: "timeout", detail: `ssh ${host}: connected, but the SSH exchange did not finish within ${loginMs} ms`, facts };
  if (/Permission denied/i.test(err)) return { verdict: "error", detail: `ssh ${host}: login rejected: ${err}`, facts };
  if (/Connection reset/i.test(err) && r.code === 255)
    return { verdict: "refused", detail: `ssh ${host}: the connection was reset during the exchange: ${err}`, facts };
  return { verdict: r.code === 255 ? "error" : "ok", detail: `ssh ${host}: exit ${r.code} ${err}`, facts: { ...facts, output: r.stdout, exit: r.code } };
};
