// fwlab's probe agent: one long-lived process per node, started by fwlab over one attached
// stream. It reads JSON requests on stdin, one per line, runs each probe from inside this node
// (its own sockets, or the real client program), and writes one JSON result per line:
//   -> {"id":1,"probe":"tcp","params":{"host":"10.0.2.80","port":80,"timeoutMs":1000}}
//   <- {"id":1,"verdict":"ok","detail":"connected","durationMs":0.4,"facts":{...}}
// Verdicts: ok, timeout (no answer: dropped), refused (TCP reset or ICMP port unreachable),
// unreachable (other ICMP errors, e.g. host-prohibited), error (the probe itself could not run).
"use strict";
const net = require("node:net");
const dgram = require("node:dgram");
const { execFile } = require("node:child_process");
const readline = require("node:readline");

// ssh refuses a key others can read; the image's copy is world-readable for every role.
const KEY = "/run/fwlab/probe-key";
try {
  require("node:fs").mkdirSync("/run/fwlab", { recursive: true });
  require("node:fs").copyFileSync("/etc/fwlab/keys/student", KEY);
  require("node:fs").chmodSync(KEY, 0o600);
} catch {}

const UNREACHABLE = new Set(["EHOSTUNREACH", "ENETUNREACH", "EACCES", "EPERM"]);
const now = () => Number(process.hrtime.bigint()) / 1e6;

function tcp({ host, port, timeoutMs, send, localPort }, signal) {
  return new Promise((resolve) => {
    const s = net.connect({ host, port, localPort });
    let data = "";
    let local = "";
    s.on("connect", () => {
      local = `${s.localAddress}:${s.localPort}`;
    });
    const done = (verdict, detail, facts = {}) => {
      clearTimeout(timer);
      s.destroy();
      resolve({ verdict, detail, facts: { local: local || "?", ...facts } });
    };
    const timer = setTimeout(() => done("timeout", `no answer from ${host}:${port} within ${timeoutMs} ms`), timeoutMs);
    signal?.addEventListener("abort", () => done("timeout", "cancelled"), { once: true });
    s.on("connect", () => {
      if (send === undefined) return done("ok", `connected to ${host}:${port}`);
      s.write(send);
      setTimeout(() => done("ok", `connected to ${host}:${port}`, { received: data }), 150);
    });
    s.on("data", (d) => {
      data += d;
    });
    s.on("error", (e) => {
      if (e.code === "ECONNREFUSED") done("refused", `${host}:${port} refused the connection (TCP reset)`);
      else if (UNREACHABLE.has(e.code)) done("unreachable", `${host}:${port}: ${e.code} (ICMP error)`);
      else done("error", `${e.code ?? e.message}`);
    });
  });
}

function udp({ host, port, timeoutMs, payload, localPort }, signal) {
  return new Promise((resolve) => {
    const s = dgram.createSocket({ type: "udp4", reuseAddr: true });
    let timer;
    let finished = false;
    const done = (verdict, detail, facts = {}) => {
      if (finished) return; // a cancel, an error and a reply can race; close once
      finished = true;
      clearTimeout(timer);
      let local = "";
      try {
        const a = s.address();
        local = `${a.address}:${a.port}`;
      } catch {}
      s.close();
      resolve({ verdict, detail, facts: { local, ...facts } });
    };
    // A connected UDP socket hears ICMP errors: port unreachable arrives as ECONNREFUSED.
    s.on("error", (e) => {
      if (e.code === "ECONNREFUSED") done("refused", `${host}:${port} answered ICMP port unreachable`);
      else if (UNREACHABLE.has(e.code)) done("unreachable", `${host}:${port}: ${e.code} (ICMP error)`);
      else done("error", `${e.code ?? e.message}`);
    });
    signal?.addEventListener("abort", () => done("timeout", "cancelled"), { once: true });
    s.on("message", (m) => done("ok", `${m.length} bytes back from ${host}:${port}`, { received: m.toString() }));
    if (localPort) s.bind(localPort);
    s.connect(port, host, () => {
      timer = setTimeout(() => done("timeout", `no reply from ${host}:${port} within ${timeoutMs} ms`), timeoutMs);
      s.send(payload ?? "fwlab probe");
    });
  });
}

/** Runs a program inside this node; resolves with its exit code and output (never rejects). */
function run(file, args, timeoutMs, env, signal) {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { timeout: timeoutMs, signal, killSignal: "SIGKILL", maxBuffer: 64 * 1024 * 1024, encoding: "latin1", env: { ...process.env, ...env } },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : err.killed ? "killed" : (err.code ?? 1)) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

// ICMP errors as ping and the other programs print them.
function icmpVerdict(text) {
  if (/Port Unreachable|port unreachable|Connection refused/i.test(text)) return "refused";
  if (/Prohibited|Unreachable|No route to host|unreachable/i.test(text)) return "unreachable";
  return undefined;
}

async function ping({ host, timeoutMs, count }, signal) {
  const waitS = Math.max(0.2, timeoutMs / 1000); // iputils takes fractions of a second
  const r = await run("ping", ["-n", "-c", String(count ?? 1), "-W", String(waitS), host], timeoutMs + 2000, {}, signal);
  const received = Number(/(\d+) received/.exec(r.stdout)?.[1] ?? 0);
  if (received > 0) return { verdict: "ok", detail: `${received} echo replies from ${host}`, facts: { received } };
  const icmp = icmpVerdict(r.stdout + r.stderr);
  const line = (r.stdout.split("\n").find((l) => /From |Unreachable|Prohibited/i.test(l)) ?? "").trim();
  if (icmp) return { verdict: icmp, detail: line || `ICMP error for echo to ${host}` };
  if (r.code === 2 && !/transmitted/.test(r.stdout)) return { verdict: "error", detail: (r.stderr || r.stdout).trim() };
  return { verdict: "timeout", detail: `no echo reply from ${host} within ${waitS} s` };
}

async function dns({ server, name, type, timeoutMs, tcp: overTcp, localPort }, signal) {
  const waitS = Math.max(1, Math.ceil(timeoutMs / 1000));
  const args = [`@${server}`, name, type ?? "A", "+tries=1", `+time=${waitS}`, "+noall", "+answer", "+comments"];
  if (overTcp) args.push("+tcp");
  if (localPort) args.push("-b", `0.0.0.0#${localPort}`);
  const r = await run("dig", args, timeoutMs + 2000, {}, signal);
  const out = r.stdout + r.stderr;
  const status = /status: (\w+)/.exec(out)?.[1];
  if (status) {
    const answers = out
      .split("\n")
      .filter((l) => l && !l.startsWith(";"))
      .map((l) => l.trim().split(/\s+/).slice(4).join(" "));
    return { verdict: "ok", detail: `${status}: ${answers.join(", ") || "no answer records"}`, facts: { status, answers } };
  }
  if (/refused/i.test(out)) return { verdict: "refused", detail: `${server} refused (ICMP port unreachable or TCP reset)` };
  if (/unreachable|no route/i.test(out)) return { verdict: "unreachable", detail: out.trim().split("\n")[0] };
  if (/timed out|no servers could be reached/i.test(out)) return { verdict: "timeout", detail: `no answer from ${server} within ${waitS} s` };
  return { verdict: "error", detail: out.trim().split("\n")[0] || `dig exited ${r.code}` };
}

// curl's exit codes: 6 no host, 7 connect failed (refused or unreachable), 28 timeout.
function curlVerdict(r, what) {
  if (r.code === 0) return undefined;
  const err = r.stderr.trim();
  if (r.code === 28 || r.code === "killed") return { verdict: "timeout", detail: `${what}: no answer in time` };
  if (r.code === 7) return { verdict: icmpVerdict(err) ?? "refused", detail: `${what}: ${err || "could not connect"}` };
  return undefined;
}

async function http({ url, timeoutMs, insecure, localPort }, signal) {
  const s = timeoutMs / 1000;
  const args = ["-sS", "-o", "-", "-w", "\n%{http_code}", "--connect-timeout", String(s), "-m", String(s + 2)];
  if (insecure !== false) args.push("-k");
  if (localPort) args.push("--local-port", String(localPort));
  const r = await run("curl", [...args, url], timeoutMs + 4000, {}, signal);
  const bad = curlVerdict(r, url);
  if (bad) return bad;
  if (r.code !== 0) return { verdict: "error", detail: `curl exited ${r.code}: ${r.stderr.trim()}` };
  const cut = r.stdout.lastIndexOf("\n");
  const status = Number(r.stdout.slice(cut + 1));
  return { verdict: "ok", detail: `HTTP ${status}`, facts: { status, body: r.stdout.slice(0, cut) } };
}

async function ftp({ host, user, password, path, mode, timeoutMs, localPort }, signal) {
  // The control connection first, on its own (fwlab's source port): a drop is told in timeoutMs.
  // curl's connect timeout then also covers the greeting and the login, which need more than a
  // lab's round trip: at least a second.
  const reach = await tcp({ host, port: 21, timeoutMs, localPort }, signal);
  if (reach.verdict !== "ok") return { verdict: reach.verdict, detail: `ftp ${host}: ${reach.detail}`, facts: { stage: "control" } };
  const s = Math.max(1, timeoutMs / 1000);
  const base = ["-sS", "--connect-timeout", String(s), "-m", String(s + 1), "--user", `${user}:${password}`];
  if (mode === "active") base.push("--ftp-port", "-");
  const dir = path.replace(/[^/]*$/, "");
  const list = await run("curl", [...base, `ftp://${host}/${dir.replace(/^\//, "")}`], timeoutMs + 6000, {}, signal);
  const bad = curlVerdict(list, `ftp LIST ${host}`);
  if (bad) return bad;
  if (list.code !== 0) {
    // The control connection worked but the data connection did not: what a firewall without
    // the FTP helper does to passive and active transfers.
    const v = list.code === 28 || /timed out|timeout/i.test(list.stderr) ? "timeout" : "refused";
    return { verdict: v, detail: `ftp LIST (${mode}) failed: ${list.stderr.trim() || `curl exit ${list.code}`}`, facts: { stage: "data", curl: list.code } };
  }
  const retr = await run("curl", [...base, "-o", "-", `ftp://${host}/${path.replace(/^\//, "")}`], timeoutMs + 6000, {}, signal);
  if (retr.code !== 0) {
    const v = retr.code === 28 ? "timeout" : "refused";
    return { verdict: v, detail: `ftp RETR ${path} (${mode}) failed: ${retr.stderr.trim()}`, facts: { stage: "retr" } };
  }
  const crypto = require("node:crypto");
  const sha256 = crypto.createHash("sha256").update(Buffer.from(retr.stdout, "latin1")).digest("hex");
  return {
    verdict: "ok",
    detail: `LIST ${list.stdout.trim().split("\n").length} entries, RETR ${Buffer.byteLength(retr.stdout, "latin1")} bytes (${mode})`,
    facts: { list: list.stdout, bytes: Buffer.byteLength(retr.stdout, "latin1"), sha256, content: retr.stdout.slice(0, 4096) },
  };
}

async function ssh({ host, port, user, auth, password, command, timeoutMs, localPort }, signal) {
  // ssh's ConnectTimeout counts whole seconds: a TCP connect first tells a drop in timeoutMs.
  const reach = await tcp({ host, port: port ?? 22, timeoutMs, localPort }, signal);
  if (reach.verdict !== "ok") return { verdict: reach.verdict, detail: `ssh ${host}: ${reach.detail}` };
  const s = Math.max(1, Math.ceil(timeoutMs / 1000));
  const args = [
    "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
    "-o", `ConnectTimeout=${s}`, "-o", "NumberOfPasswordPrompts=1", "-p", String(port ?? 22),
  ];
  const env = {};
  if (auth === "password") {
    args.push("-o", "PreferredAuthentications=password,keyboard-interactive", "-o", "PubkeyAuthentication=no");
    Object.assign(env, { SSH_ASKPASS: "/usr/local/lib/fwlab/askpass", SSH_ASKPASS_REQUIRE: "force", FWLAB_PASSWORD: password ?? "", DISPLAY: ":0" });
  } else {
    args.push("-o", "BatchMode=yes", "-i", KEY);
  }
  const r = await run("ssh", [...args, `${user}@${host}`, command ?? "true"], timeoutMs + 5000, env, signal);
  const err = r.stderr.trim();
  if (r.code === 0) return { verdict: "ok", detail: `logged in as ${user}`, facts: { output: r.stdout } };
  if (/timed out/i.test(err) || r.code === "killed") return { verdict: "timeout", detail: `ssh ${host}: ${err || "timed out"}` };
  if (/refused/i.test(err)) return { verdict: "refused", detail: `ssh ${host}: ${err}` };
  if (/No route|unreachable/i.test(err)) return { verdict: "unreachable", detail: `ssh ${host}: ${err}` };
  if (/Permission denied/i.test(err)) return { verdict: "error", detail: `ssh ${host}: login rejected: ${err}` };
  return { verdict: r.code === 255 ? "error" : "ok", detail: `ssh ${host}: exit ${r.code} ${err}`, facts: { output: r.stdout, exit: r.code } };
}

async function scan({ host, ports, technique, flags, timeoutMs }) {
  const flag = { syn: "-sS", null: "-sN", xmas: "-sX", ack: "-sA", fin: "-sF", connect: "-sT", udp: "-sU" }[technique ?? "syn"];
  if (!flag) return { verdict: "error", detail: `unknown scan technique ${technique}` };
  const r = await run(
    "nmap",
    ["-n", "-Pn", flag, ...(flags ? ["--scanflags", flags] : []), "-p", ports, "--max-retries", "1",
      "--initial-rtt-timeout", "50ms", "--max-rtt-timeout", "200ms", "--host-timeout", `${Math.max(2, Math.ceil(timeoutMs / 1000) * 4)}s`, "-oX", "-", host],
    timeoutMs * 10 + 10000,
  );
  if (r.code !== 0 && !r.stdout.includes("<nmaprun")) return { verdict: "error", detail: `nmap: ${r.stderr.trim()}` };
  const results = {};
  for (const m of r.stdout.matchAll(/<port protocol="(\w+)" portid="(\d+)"><state state="([\w|]+)" reason="([\w-]+)"/g)) {
    results[m[2]] = { state: m[3], reason: m[4] };
  }
  return { verdict: "ok", detail: Object.entries(results).map(([p, s]) => `${p} ${s.state} (${s.reason})`).join(", "), facts: { ports: results } };
}

// Not a probe: a command fwlab needs often on this node (rule counters before and after each
// step), run here instead of through a docker exec that costs ~43 ms.
async function exec({ argv }) {
  const r = await run(argv[0], argv.slice(1), 30000);
  return { verdict: r.code === 0 ? "ok" : "error", detail: `exit ${r.code}`, facts: { stdout: r.stdout, stderr: r.stderr, code: r.code } };
}

const probes = { tcp, udp, ping, dns, http, ftp, ssh, scan, exec };

// Probes in flight, so fwlab can cancel one whose packet the firewall was seen dropping:
//   -> {"id":1,"cancel":true}   (the probe stops at once; its late answer is not awaited)
const inFlight = new Map();

const rl = readline.createInterface({ input: process.stdin });
// fwlab closed the stream (or died: the engine closes stdin then): nothing is left to answer.
rl.on("close", () => process.exit(0));
rl.on("line", async (line) => {
  let req;
  try {
    req = JSON.parse(line);
  } catch {
    return;
  }
  if (req.cancel) return inFlight.get(req.id)?.abort();
  const fn = probes[req.probe];
  const t0 = now();
  const ac = new AbortController();
  inFlight.set(req.id, ac);
  let res;
  try {
    res = fn ? await fn(req.params, ac.signal) : { verdict: "error", detail: `unknown probe ${req.probe}` };
  } catch (e) {
    res = { verdict: "error", detail: String(e && e.message) };
  }
  inFlight.delete(req.id);
  process.stdout.write(`${JSON.stringify({ id: req.id, ...res, durationMs: now() - t0 })}\n`);
});
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
