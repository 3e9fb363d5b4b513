// tcp: one connection from fwlab's source port. With `read`, `send` (if any) is written and the
// server's answer read until it holds `expect` (or, without one, until its first bytes), the
// server closes, or waitMs; nothing is sent that the step does not name.
"use strict";
const { connect, readUntil } = require("../probe-lib.js");

module.exports = async function tcp({ host, port, send, expect, read, waitMs, localPort }, ctx) {
  const c = await connect(ctx, { host, port, localPort, waitMs });
  if (!c.socket) return c;
  const facts = { local: c.local };
  if (!read) {
    c.socket.destroy();
    return { verdict: "ok", detail: `connected to ${host}:${port}`, facts };
  }
  if (send !== undefined) c.socket.write(send);
  const enough = (text) => (expect === undefined ? text.length > 0 : text.includes(expect));
  const r = await readUntil(c.socket, enough, waitMs, ctx.signal);
  c.socket.destroy();
  const how = r.timedOut ? `no more within ${waitMs} ms` : r.ended ? "the server closed" : "answer complete";
  return { verdict: "ok", detail: `connected to ${host}:${port}; ${r.text.length} bytes back (${how})`, facts: { ...facts, received: r.text } };
};
