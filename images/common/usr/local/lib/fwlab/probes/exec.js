// Not a probe: a command fwlab needs often in this node (rule counters before and after each
// step, ruleset loads, markers of the evidence streams), run here instead of through a docker
// exec that costs ~43 ms. `stdin` is written to the command's standard input.
"use strict";
const { spawn } = require("node:child_process");

module.exports = function exec({ argv, stdin, timeoutMs }) {
  return new Promise((resolve) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: ["pipe", "pipe", "pipe"] });
    const out = [];
    const err = [];
    child.stdout.on("data", (d) => out.push(d));
    child.stderr.on("data", (d) => err.push(d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs ?? 30000);
    const done = (code, why) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out).toString("utf8");
      const stderr = Buffer.concat(err).toString("utf8") + (why ? `${why}\n` : "");
      resolve({ verdict: code === 0 ? "ok" : "error", detail: `exit ${code}`, facts: { stdout, stderr, code } });
    };
    child.on("error", (e) => done(127, `${argv[0]}: ${e.message}`));
    child.on("close", (code, signal) => done(code ?? (signal ? 128 + 9 : 1)));
    child.stdin.on("error", () => {}); // a command that does not read its input
    child.stdin.end(stdin ?? "");
  });
};
