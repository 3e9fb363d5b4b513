// Not a probe: a command fwlab needs often in this node (rule counters before and after each
// step), run here instead of through a docker exec that costs ~43 ms.
"use strict";
const { run } = require("../probe-lib.js");

module.exports = async function exec({ argv }) {
  const r = await run(argv[0], argv.slice(1), { timeoutMs: 30000 });
  return { verdict: r.code === 0 ? "ok" : "error", detail: `exit ${r.code}`, facts: { stdout: r.stdout, stderr: r.stderr, code: r.code } };
};
