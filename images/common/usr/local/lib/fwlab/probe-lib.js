// What the probe handlers in probes/ share: one TCP connection that tells fwlab its flow before
// its first packet leaves, reading a socket until an answer is complete, running a client
// program, and ICMP errors in a student's words.
"use strict";
const net = require("node:net");
const { execFile, execFileSync } = require("node:child_process");
const fs = require("node:fs");

const UNREACHABLE = new Set(["EHOSTUNREACH", "ENETUNREACH", "EACCES", "EPERM"]);

/**
 * A socket error as a verdict: a reset is `refused`, an ICMP error `unreachable`. The same
 * errors also come from this node itself, before any packet left it: no route to the address
 * (a wan host has none to a private DMZ), or its own firewall's OUTPUT chain (EPERM). Said so,
 * or a student looks for the firewall rule that sent an ICMP error nobody sent.
 */
function socketVerdict(err, where, host) {
  if (err.code === "ECONNREFUSED") return { verdict: "refused", detail: `${where} refused the connection (TCP reset)` };
  if (err.code === "EPERM" || err.code === "EACCES")
    return { verdict: "unreachable", detail: `${where}: ${err.code}: this node's own firewall (its OUTPUT chain) did not let the packet out` };
  if (UNREACHABLE.has(err.code) && host && !hasRoute(host))
    return { verdict: "unreachable", detail: `${where}: ${err.code}: this node has no route to ${host}; the packet never left it` };
  if (UNREACHABLE.has(err.code)) return { verdict: "unreachable", detail: `${where}: ${err.code} (ICMP error)` };
  if (err.code === "ECONNRESET") return { verdict: "refused", detail: `${where} reset the connection` };
  return { verdict: "error", detail: `${where}: ${err.code || err.message}` };
}

/** Whether the node's routing table has a way to `host` (`ip route get`: only on an error's path). */
function hasRoute(host) {
  if (!net.isIP(host)) return true; // a name: its address is not ours to look up here
  try {
    execFileSync("ip", ["route", "get", host], { stdio: "ignore", timeout: 2000 });
    return true;
  } catch {
    return false;
  }
}

/**
 * Opens exactly one TCP connection from `localPort` (the flow fwlab watches, announced before
 * its SYN leaves and marked answered once connected). Resolves with
 * `{ socket }` once connected, else with a verdict: refused, unreachable, or timeout after
 * `waitMs` (fwlab cancels sooner when a firewall is seen dropping the SYN). Never rejects.
 */
function connect(ctx, { host, port, localPort, waitMs }) {
  return new Promise((resolve) => {
    const flow = { proto: "tcp", dst: host, dport: port, sport: localPort };
    ctx.flow(flow);
    const s = net.connect({ host, port, localPort });
    s.on("error", () => {}); // later errors are the caller's to read; none may crash the agent
    let settled = false;
    const finish = (r) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      ctx.signal.removeEventListener("abort", onAbort);
      if (!r.socket) s.destroy();
      resolve(r);
    };
    const timer = setTimeout(
      () => finish({ verdict: "timeout", detail: `no answer from ${host}:${port} within ${waitMs} ms` }),
      waitMs,
    );
    const onAbort = () => finish({ verdict: "timeout", detail: "cancelled" });
    ctx.signal.addEventListener("abort", onAbort, { once: true });
    s.once("connect", () => {
      ctx.answered(flow); // what follows is the exchange, not silence after a first packet
      const local = net.isIPv6(s.localAddress) ? `[${s.localAddress}]:${s.localPort}` : `${s.localAddress}:${s.localPort}`;
      finish({ socket: s, local });
    });
    s.once("error", (e) => finish(socketVerdict(e, `${host}:${port}`, host)));
  });
}

/**
 * Reads a socket until `enough(text, ended)` holds, the peer closes, or `waitMs` passes.
 * Resolves `{ text, ended, timedOut, error }`; never rejects.
 */
function readUntil(socket, enough, waitMs, signal) {
  return new Promise((resolve) => {
    let text = "";
    let settled = false;
    const finish = (r) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.off("data", onData);
      socket.off("end", onEnd);
      socket.off("close", onEnd);
      socket.off("error", onError);
      signal?.removeEventListener("abort", onAbort);
      resolve({ text, ended: false, timedOut: false, ...r });
    };
    const onData = (d) => {
      text += d.toString("latin1");
      if (enough(text, false)) finish({});
    };
    const onEnd = () => finish({ ended: true });
    const onError = (e) => finish({ ended: true, error: e });
    const onAbort = () => finish({ timedOut: true });
    const timer = setTimeout(() => finish({ timedOut: true }), waitMs);
    socket.on("data", onData);
    socket.on("end", onEnd);
    socket.on("close", onEnd);
    socket.on("error", onError);
    signal?.addEventListener("abort", onAbort, { once: true });
    if (socket.destroyed || socket.readableEnded) finish({ ended: true });
  });
}

/** Runs a client program in this node; resolves with its exit code and output (never rejects). */
function run(file, args, opts) {
  return start(file, args, opts).done;
}

/** run(), with the child process at hand while it runs. */
function start(file, args, { timeoutMs, env, signal } = {}) {
  let child;
  const done = new Promise((resolve) => {
    child = execFile(
      file,
      args,
      {
        timeout: timeoutMs,
        signal,
        killSignal: "SIGKILL",
        maxBuffer: 64 * 1024 * 1024,
        encoding: "latin1",
        env: { ...process.env, ...env },
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : err.killed ? "killed" : (err.code ?? 1)) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
  return { child, done };
}

/**
 * Runs a client program that sends one flow, and tells fwlab that flow once the program has a
 * socket to send it from (its source port bound; for ICMP, any socket open), not when it is
 * spawned: fwlab counts a probe's silence from the announcement, and on a busy machine dig took
 * more than the whole half second to get that far (its query then passed the firewall 10 ms
 * after fwlab had said "timeout"). Announced when the program ends at the latest.
 */
function runAnnounced(ctx, flow, file, args, opts) {
  const { child, done } = start(file, args, opts);
  let announced = false;
  const announce = () => {
    if (announced) return;
    announced = true;
    clearInterval(poll);
    ctx.flow(flow);
  };
  const poll = setInterval(() => {
    if (hasSocket(child.pid, flow)) announce();
  }, 5);
  return done.finally(announce);
}

/** Does process `pid` have the socket `flow` leaves from? Read from /proc; false when it cannot tell. */
function hasSocket(pid, flow) {
  try {
    if (flow.sport) {
      // Local addresses are "ADDR:PORT" in hex: this node's namespace, every process.
      const port = `:${flow.sport.toString(16).toUpperCase().padStart(4, "0")}`;
      const tables = flow.proto === "tcp" ? ["tcp", "tcp6"] : ["udp", "udp6"];
      return tables.some((t) =>
        fs
          .readFileSync(`/proc/net/${t}`, "latin1")
          .split("\n")
          .some((l) => l.trim().split(/\s+/)[1]?.endsWith(port)),
      );
    }
    if (!pid) return false;
    return fs.readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        return fs.readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith("socket:");
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
}

/** ICMP errors as ping, dig and curl print them. */
function icmpVerdict(text) {
  if (/Port Unreachable|port unreachable|Connection refused/i.test(text)) return "refused";
  if (/Prohibited|Unreachable|No route to host|unreachable/i.test(text)) return "unreachable";
  return undefined;
}

module.exports = { connect, readUntil, run, runAnnounced, icmpVerdict, socketVerdict, UNREACHABLE };
