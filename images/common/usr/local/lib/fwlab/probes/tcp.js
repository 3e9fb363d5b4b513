// tcp: one connection from fwlab's source port; with `send`, the server's answer is read until
// it holds `expect` (or, without one, until its first bytes), the server closes, or waitMs.
"use strict";
const { connect, readUntil } = require("../probe-lib.js");

module.exports = async function tcp({ host, port, send, expect, waitMs, localPort }, ctx) {
  const c = await connect(ctx, { host, port, localPort, waitMs });
  if (!c.socket) return c;
  const facts = { local: c.local };
  if (send === undefined) {
    c.socket.destroy();
    return { verdict: "ok", detail: `connected to ${host}:${port}`, facts };
  }
  c.socket.write(send);
  const enough = (text) => (expect === undefined ? text.length > 0 : text.includes(expect));
  const r = await readUntil(c.socket, enough, waitMs, ctx.signal);
  c.socket.destroy();
  const how = r.timedOut ? `no more within ${waitMs} ms` : r.ended ? "the server closed" : "answer complete";
  return { verdict: "ok", detail: `connected to ${host}:${port}; ${r.text.length} bytes back (${how})`, facts: { ...facts, received: r.text } };
};
