// Not a probe: a marker datagram to 127.0.0.1:9 from `sport`. fwlab's own nft table in this
// node traces and logs it, then drops it before any user chain: when its trace (or LOG, or
// NFLOG line) reaches fwlab, every line before it has too.
"use strict";
const dgram = require("node:dgram");

module.exports = function mark({ sport }) {
  return new Promise((resolve) => {
    const s = dgram.createSocket({ type: "udp4", reuseAddr: true });
    const done = () => {
      try {
        s.close();
      } catch {}
      resolve({ verdict: "ok", detail: `marker from port ${sport}` });
    };
    s.on("error", done); // the drop in OUTPUT answers the send with EPERM: expected
    s.bind(sport, "127.0.0.1", () => s.send("fwlab-sync", 9, "127.0.0.1", done));
  });
};
