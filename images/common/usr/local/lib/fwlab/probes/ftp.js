// ftp: one FTP session as a real client makes it: one control connection from fwlab's source
// port (login, TYPE I, LIST of the file's folder, RETR of the file, QUIT) and one data
// connection per transfer, each from (passive) or to (active) a port fwlab reserved for it.
// Every connection is announced to fwlab before its first packet, so a dropped one is known at
// once, whichever it is.
"use strict";
const net = require("node:net");
const crypto = require("node:crypto");
const { connect, readUntil, socketVerdict } = require("../probe-lib.js");

/** FTP replies on the control connection, one complete reply (multi-line too) at a time. */
function replies(socket) {
  let buf = "";
  const queue = [];
  const waiters = [];
  let closed = false;
  const push = (r) => (waiters.length ? waiters.shift()(r) : queue.push(r));
  socket.on("data", (d) => {
    buf += d.toString("latin1");
    for (;;) {
      const m = /^(\d{3})([ -])/.exec(buf);
      if (!m) break;
      // A multi-line reply ends with a line starting "NNN " (RFC 959 4.2).
      const end = m[2] === " " ? buf.indexOf("\r\n") : buf.search(new RegExp(`\\r\\n${m[1]} [^\\r]*\\r\\n`));
      if (end < 0) break;
      const stop = m[2] === " " ? end + 2 : buf.indexOf("\r\n", end + 2) + 2;
      push({ code: Number(m[1]), text: buf.slice(0, stop).trim() });
      buf = buf.slice(stop);
    }
  });
  const close = () => {
    closed = true;
    while (waiters.length) waiters.shift()(undefined);
  };
  socket.on("end", close);
  socket.on("close", close);
  return {
    /** The next reply, or undefined if the server closed or nothing came within ms. */
    next(ms, signal) {
      if (queue.length) return Promise.resolve(queue.shift());
      if (closed) return Promise.resolve(undefined);
      return new Promise((resolve) => {
        const t = setTimeout(() => {
          waiters.splice(waiters.indexOf(done), 1);
          resolve(undefined);
        }, ms);
        const done = (r) => {
          clearTimeout(t);
          resolve(r);
        };
        signal?.addEventListener("abort", () => done(undefined), { once: true });
        waiters.push(done);
      });
    },
  };
}

class FtpFailure extends Error {
  constructor(verdict, detail, stage) {
    super(detail);
    Object.assign(this, { verdict, stage });
  }
}

module.exports = async function ftp({ host, user, password, path, mode, waitMs, localPort, dataPorts }, ctx) {
  const c = await connect(ctx, { host, port: 21, localPort, waitMs });
  if (!c.socket) return { ...c, detail: `ftp ${host}: ${c.detail}`, facts: { stage: "control" } };
  const ctl = c.socket;
  const six = net.isIPv6(host);
  const r = replies(ctl);
  // A lab's server answers at once; a busy machine may take a while: the connection is up.
  const replyMs = waitMs + 5000;
  const expect = async (what, ok, stage) => {
    const reply = await r.next(replyMs, ctx.signal);
    if (!reply) throw new FtpFailure(ctx.signal.aborted ? "timeout" : "error", `${what}: no reply from the server`, stage);
    if (!ok.includes(reply.code)) throw new FtpFailure("error", `${what}: ${reply.text}`, stage);
    return reply;
  };
  const send = (line) => ctl.write(`${line}\r\n`);

  /** One transfer (LIST or RETR) over its own data connection; resolves with its bytes. */
  const transfer = async (command, dataPort) => {
    let data;
    if (mode === "active") {
      // PORT: the server connects from its port 20 to ours; announced before it is asked for.
      const server = net.createServer();
      server.on("error", () => {});
      await new Promise((res, rej) => server.listen(dataPort, six ? "::" : "0.0.0.0", res).once("error", rej));
      const accepted = new Promise((res) => server.once("connection", res));
      // IPv6 has no PORT: EPRT (RFC 2428) names the family and the address.
      if (six) send(`EPRT |2|${ctl.localAddress}|${dataPort}|`);
      else send(`PORT ${ctl.localAddress.split(".").join(",")},${dataPort >> 8},${dataPort & 255}`);
      await expect(six ? "EPRT" : "PORT", [200], "data");
      const flow = { proto: "tcp", dst: host, dport: 20, sport: dataPort };
      ctx.flow(flow);
      accepted.then(() => ctx.answered(flow));
      send(command);
      // vsftpd connects first and then says 150; if its SYN is dropped it retries, then says 425.
      const opened = r.next(replyMs, ctx.signal);
      const first = await Promise.race([accepted.then((s) => ({ s })), opened.then((reply) => ({ reply }))]);
      const reply = await opened;
      if (!reply || ![150, 125].includes(reply.code)) {
        server.close();
        const why = reply?.text ?? "no reply";
        throw new FtpFailure("timeout", `${command}: the server could not open the data connection: ${why}`, "data");
      }
      data = first.s ?? (await Promise.race([accepted, new Promise((res) => setTimeout(res, replyMs))]));
      server.close();
      if (!data) throw new FtpFailure("timeout", `${command}: the server's data connection did not arrive`, "data");
    } else {
      // IPv6 has no PASV: EPSV (RFC 2428) answers with the port alone, "(|||30001|)".
      send(six ? "EPSV" : "PASV");
      const pasv = await expect(six ? "EPSV" : "PASV", [six ? 229 : 227], "data");
      const m = six ? /\(\|\|\|(\d+)\|\)/.exec(pasv.text) : /(\d+),(\d+),(\d+),(\d+),(\d+),(\d+)/.exec(pasv.text);
      if (!m) throw new FtpFailure("error", `${six ? "EPSV" : "PASV"}: cannot read ${pasv.text}`, "data");
      // Like curl, the data connection goes to the control connection's address (the one in
      // the reply may be a private one behind NAT).
      const dport = six ? Number(m[1]) : Number(m[5]) * 256 + Number(m[6]);
      const d = await connect(ctx, { host, port: dport, localPort: dataPort, waitMs });
      if (!d.socket) throw new FtpFailure(d.verdict, `${command} (passive) data connection: ${d.detail}`, "data");
      data = d.socket;
      send(command);
      await expect(command, [150, 125], "data");
    }
    data.on("error", () => {});
    const got = await readUntil(data, () => false, replyMs, ctx.signal);
    data.destroy();
    if (!got.ended) throw new FtpFailure("timeout", `${command}: the data connection stalled`, "data");
    await expect(`${command} end`, [226, 250], "data");
    return got.text;
  };

  try {
    await expect("greeting", [220], "control");
    send(`USER ${user}`);
    const u = await expect("USER", [230, 331], "login");
    if (u.code === 331) {
      send(`PASS ${password}`);
      await expect("PASS (login rejected)", [230], "login");
    }
    send("TYPE I");
    await expect("TYPE I", [200], "login");
    const dir = path.replace(/[^/]*$/, "").replace(/^\//, "") || ".";
    const list = await transfer(`LIST ${dir}`, dataPorts[0]);
    const content = await transfer(`RETR ${path.replace(/^\//, "")}`, dataPorts[1]);
    send("QUIT");
    await r.next(1000);
    ctl.destroy();
    const bytes = Buffer.byteLength(content, "latin1");
    const sha256 = crypto.createHash("sha256").update(Buffer.from(content, "latin1")).digest("hex");
    return {
      verdict: "ok",
      detail: `LIST ${list.trim().split("\n").filter(Boolean).length} entries, RETR ${bytes} bytes (${mode})`,
      facts: { local: c.local, list, bytes, sha256, content: content.slice(0, 4096) },
    };
  } catch (err) {
    ctl.destroy();
    if (!(err instanceof FtpFailure)) return { ...socketVerdict(err, `ftp ${host}`, host), facts: { stage: "control" } };
    return { verdict: err.verdict, detail: `ftp ${mode} ${host}: ${err.message}`, facts: { local: c.local, stage: err.stage } };
  }
};
