// fwlab's host helper: what fwlab needs done on an engine's host, done from a container that
// fwlab starts there through the engine API (host network and PID namespaces, /dev/kmsg, the
// capabilities it names). fwlab itself then needs nothing but the engine: it may run as any
// user, on any machine.
//
//   hostd.js daemon  the helper's main process: sessions on the unix socket SOCKET, each as `serve`
//     below on the connection; fwlab reaches it through `socat - UNIX-CONNECT:SOCKET` in a docker
//     exec (a node process per session would cost a quarter of a second to start, socat ~none).
//   hostd.js serve   one session: JSON requests on stdin, one per line, answered on stdout by id
//     -> {"id":1,"op":"run","argv":["ip","-batch","-"],"stdin":"link add ..."}
//     <- {"id":1,"exitCode":0,"stdout":"","stderr":"","durationMs":3.1}
//     -> {"id":2,"op":"read","path":"/proc/4242/net/dev"}   <- {"id":2,"data":"..."} or {"id":2,"missing":true}
//     -> {"id":3,"op":"write","path":"/proc/sys/...","data":"1"}   <- {"id":3} or {"id":3,"error":"..."}
//     -> {"id":4,"op":"acquire","name":"overlay-starts","limit":2}   <- {"id":4} once a slot is free
//     -> {"id":5,"op":"release","name":"overlay-starts"}   <- {"id":5}
//     (daemon sessions only: counting semaphores shared by every fwlab process using this host;
//     what a session holds or waits for is given back when it ends, fwlab killed -9 included)
//     Requests run side by side; the session ends when stdin does (fwlab ended, even killed -9).
//   hostd.js kmsg [--history]   the kernel log's netfilter LOG records from now on (or from the
//     oldest still in the ring), as JSON lines: {"ready":true} once open, then {"r":"prio,seq,usec,flags;text"}
//     and {"gap":N,"why":"..."} when the ring overwrote records before they were read. Only LOG
//     records leave the helper: the rest of the kernel's log is not fwlab's business.
"use strict";
const fs = require("node:fs");
const { spawn } = require("node:child_process");
const readline = require("node:readline");

const net = require("node:net");

// The socket's path can be moved for the helper's own tests (test/unit/hostd-slots.test.ts).
const SOCKET = process.env.FWLAB_HOSTD_SOCKET || "/run/fwlab/hostd.sock";
const write = (msg) => process.stdout.write(`${JSON.stringify(msg)}\n`);
const now = () => Number(process.hrtime.bigint()) / 1e6;

function run(argv, stdin) {
  return new Promise((resolve) => {
    const t0 = now();
    const out = [];
    const err = [];
    let child;
    try {
      child = spawn(argv[0], argv.slice(1), { stdio: ["pipe", "pipe", "pipe"] });
    } catch (e) {
      return resolve({ exitCode: 127, stdout: "", stderr: String(e.message), durationMs: 0 });
    }
    child.stdout.on("data", (b) => out.push(b));
    child.stderr.on("data", (b) => err.push(b));
    child.stdin.on("error", () => {}); // a command that exits before reading all of its input
    child.on("error", (e) => resolve({ exitCode: 127, stdout: "", stderr: `${argv[0]}: ${e.message}`, durationMs: now() - t0 }));
    child.on("close", (code, signal) =>
      resolve({
        exitCode: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
        durationMs: now() - t0,
      }),
    );
    child.stdin.end(stdin ?? "");
  });
}

// Counting semaphores by name: a slot each for what must not run too many at once on this host
// whoever asks, e.g. container starts onto overlay networks (the engine gives each 20 s, and many
// at once all miss it). Kept by the daemon, so every fwlab process shares them.
const semaphores = new Map(); // name -> { total, held: Map(owner -> n), waiting: [{ owner, limit, grant }] }
function semaphore(name) {
  let s = semaphores.get(name);
  if (!s) semaphores.set(name, (s = { total: 0, held: new Map(), waiting: [] }));
  return s;
}
function acquire(owner, name, limit) {
  const s = semaphore(name);
  return new Promise((resolve) => {
    const grant = () => {
      s.total++;
      s.held.set(owner, (s.held.get(owner) || 0) + 1);
      resolve({});
    };
    if (s.total < limit) grant();
    else s.waiting.push({ owner, limit, grant });
  });
}
function release(owner, name, count) {
  const s = semaphore(name);
  const n = Math.min(count, s.held.get(owner) || 0);
  s.total -= n;
  if ((s.held.get(owner) || 0) - n > 0) s.held.set(owner, s.held.get(owner) - n);
  else s.held.delete(owner);
  while (s.waiting.length > 0 && s.total < s.waiting[0].limit) s.waiting.shift().grant();
}
/** A session ended: what it waited for is forgotten, what it held given back. */
function releaseOwner(owner) {
  for (const [name, s] of semaphores) {
    s.waiting = s.waiting.filter((w) => w.owner !== owner);
    release(owner, name, Number.POSITIVE_INFINITY);
  }
}

async function handle(req, owner) {
  switch (req.op) {
    case "acquire":
      if (!owner) return { error: "slots are the daemon's (hostd.js daemon)" };
      return acquire(owner, String(req.name), Math.max(1, Number(req.limit) || 1));
    case "release":
      if (owner) release(owner, String(req.name), 1);
      return {};
    case "run":
      return run(req.argv, req.stdin);
    case "read":
      try {
        return { data: await fs.promises.readFile(req.path, "utf8") };
      } catch (e) {
        return e.code === "ENOENT" ? { missing: true } : { error: `${req.path}: ${e.message}` };
      }
    case "write":
      try {
        await fs.promises.writeFile(req.path, String(req.data));
        return {};
      } catch (e) {
        return { error: `${req.path}: ${e.message}` };
      }
    default:
      return { error: `unknown op ${req.op}` };
  }
}

// fwlab writes a line (an empty one when it has nothing to ask) at least every LEASE_MS / 3. An
// engine restarted while a session was attached never closes that session's stdin: without a
// lease its process would run on (and the kernel log reader poll) for as long as the helper.
const LEASE_MS = 30_000;
function lease(input, expire) {
  let last = Date.now();
  input.on("data", () => {
    last = Date.now();
  });
  const timer = setInterval(() => {
    if (Date.now() - last > LEASE_MS) expire();
  }, 5_000).unref();
  input.on("close", () => clearInterval(timer));
}

/**
 * One session: requests read from `input`, answers written to `output`, until `input` ends.
 * `owner` (daemon sessions) holds the session's semaphore slots.
 */
function session(input, output, end, owner) {
  lease(input, end);
  const rl = readline.createInterface({ input });
  rl.on("close", end);
  rl.on("line", (line) => {
    let req;
    try {
      req = JSON.parse(line);
    } catch {
      return; // the lease's empty lines, or not a request
    }
    const answer = (res) => output.writable && output.write(`${JSON.stringify({ id: req.id, ...res })}\n`);
    handle(req, owner).then(answer, (e) => answer({ error: String(e && e.message) }));
  });
}

function serve() {
  session(process.stdin, process.stdout, () => process.exit(0));
}

function daemon() {
  fs.mkdirSync(require("node:path").dirname(SOCKET), { recursive: true });
  fs.rmSync(SOCKET, { force: true });
  net
    .createServer((conn) => {
      conn.on("error", () => conn.destroy()); // a relay that went away: its session ends
      const owner = {};
      let ended = false;
      const end = () => {
        if (ended) return;
        ended = true;
        releaseOwner(owner);
        conn.end();
      };
      conn.on("close", end);
      session(conn, conn, end, owner);
    })
    .listen(SOCKET);
}

// Netfilter's LOG target writes "<prefix>IN=<if> OUT=<if> ...": what fwlab attributes to nodes.
const LOG_RECORD = /IN=\S* OUT=/;

function kmsg(history) {
  // Non-blocking with a short poll: a blocking read would hold a thread until the next message.
  const fd = fs.openSync("/dev/kmsg", fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  const startUsec = Math.floor(Number(fs.readFileSync("/proc/uptime", "utf8").split(" ")[0]) * 1e6);
  const buf = Buffer.alloc(8192);
  let lastSeq;
  let out = [];
  const flush = () => {
    if (out.length) process.stdout.write(out.join(""));
    out = [];
  };
  // fwlab went away: the engine closes stdin (or, after an engine restart, the lease runs out).
  process.stdin.on("end", () => process.exit(0)).resume();
  lease(process.stdin, () => process.exit(0));
  write({ ready: true });
  const loop = () => {
    for (let i = 0; i < 512; i++) {
      let n;
      try {
        n = fs.readSync(fd, buf, 0, buf.length, null);
      } catch (e) {
        if (e.code === "EAGAIN") break;
        if (e.code === "EPIPE") {
          out.push(`${JSON.stringify({ gap: 0, why: "the kernel log ring overwrote records before they were read" })}\n`);
          continue; // the next read returns the oldest record still there
        }
        throw e;
      }
      if (n === 0) break;
      const record = buf.toString("utf8", 0, n);
      const head = /^\d+,(\d+),(\d+),/.exec(record);
      if (!head) continue;
      const seq = Number(head[1]);
      if (!history && lastSeq === undefined && Number(head[2]) < startUsec) continue; // older than us
      if (lastSeq !== undefined && seq <= lastSeq) continue;
      if (lastSeq !== undefined && seq > lastSeq + 1)
        out.push(`${JSON.stringify({ gap: seq - lastSeq - 1, why: "kernel log records were overwritten" })}\n`);
      lastSeq = seq;
      const text = record.slice(record.indexOf(";") + 1);
      if (LOG_RECORD.test(text)) out.push(`${JSON.stringify({ r: record.replace(/\n$/, "") })}\n`);
    }
    flush();
    setTimeout(loop, 5);
  };
  loop();
}

const [mode, ...rest] = process.argv.slice(2);
if (mode === "kmsg") kmsg(rest.includes("--history"));
else if (mode === "daemon") daemon();
else if (mode === "serve" || mode === undefined) serve();
else {
  process.stderr.write(`hostd.js: unknown mode ${mode}\n`);
  process.exit(2);
}
