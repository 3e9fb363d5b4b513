// udp: one datagram from fwlab's source port on a connected socket, which also hears ICMP
// errors (port unreachable arrives as ECONNREFUSED).
"use strict";
const dgram = require("node:dgram");
const net = require("node:net");
const { socketVerdict } = require("../probe-lib.js");

module.exports = function udp({ host, port, payload, waitMs, localPort }, ctx) {
  return new Promise((resolve) => {
    const s = dgram.createSocket({ type: net.isIPv6(host) ? "udp6" : "udp4", reuseAddr: true });
    let timer;
    let finished = false;
    const done = (r) => {
      if (finished) return; // a cancel, an error and a reply can race; close once
      finished = true;
      clearTimeout(timer);
      ctx.signal.removeEventListener("abort", onAbort);
      let local = "";
      try {
        const a = s.address();
        local = a.family === "IPv6" ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
      } catch {}
      s.close();
      resolve({ ...r, facts: { local, ...r.facts } });
    };
    s.on("error", (e) => {
      const v = socketVerdict(e, `${host}:${port}`, host);
      done(e.code === "ECONNREFUSED" ? { verdict: "refused", detail: `${host}:${port} answered ${net.isIPv6(host) ? "ICMPv6" : "ICMP"} port unreachable` } : v);
    });
    const onAbort = () => done({ verdict: "timeout", detail: "cancelled" });
    ctx.signal.addEventListener("abort", onAbort, { once: true });
    s.on("message", (m) => done({ verdict: "ok", detail: `${m.length} bytes back from ${host}:${port}`, facts: { received: m.toString() } }));
    if (localPort) s.bind(localPort);
    // A connect that fails (no route from this node) comes to this callback, not to "error".
    s.connect(port, host, (err) => {
      if (err) return done(socketVerdict(err, `${host}:${port}`, host));
      ctx.flow({ proto: "udp", dst: host, dport: port, sport: s.address().port });
      timer = setTimeout(() => done({ verdict: "timeout", detail: `no reply from ${host}:${port} within ${waitMs} ms` }), waitMs);
      s.send(payload ?? "fwlab probe");
    });
  });
};
