import { type ChildProcess, execFile, execFileSync, spawn } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { until as waitUntil } from "../support/until.ts";

// Issue 13: fwlab with nothing but an engine API. A second dockerd stands in for another host: a
// network namespace, containerd, data root and exec root of its own, on TCP with TLS only
// (scripts/remote-engine.sh). fwlab runs as a user who is not root, cannot enter that namespace
// and cannot use this machine's engine; everything it does there goes through the API, the host
// side through its helper container on that engine.
const USER = "fwlabci";
const HOME = `/home/${USER}`;
const CHECKOUT = join(HOME, "fwlab");
const NETNS = "fwr-1";
const ENGINE = "tcp://10.99.0.11:2376";
const CONTEXT = "fwr1";
const root = process.cwd();

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** argv as the test user, with a clean environment: only what a user's shell would set. */
const userArgv = (env: Record<string, string>, argv: string[]) => [
  `--reuid=${USER}`,
  `--regid=${USER}`,
  "--init-groups",
  "env",
  "-i",
  `HOME=${HOME}`,
  `PATH=${process.env.PATH}`,
  ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
  ...argv,
];
/** Runs a command as the test user, in their copy of fwlab (setpriv execs: a kill reaches it). */
const asUser = (env: Record<string, string>, argv: string[], timeoutMs = 240_000) =>
  new Promise<Run>((resolve) => {
    execFile(
      "setpriv",
      userArgv(env, argv),
      { cwd: CHECKOUT, encoding: "utf8", timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: unknown }).code) || 1 : 0, stdout, stderr }),
    );
  });
const spawnAsUser = (env: Record<string, string>, argv: string[]): ChildProcess =>
  spawn("setpriv", userArgv(env, argv), { cwd: CHECKOUT, stdio: ["ignore", "pipe", "pipe"] });
const collect = (child: ChildProcess) => {
  const out = { text: "" };
  child.stdout!.on("data", (b: Buffer) => (out.text += b));
  child.stderr!.on("data", (b: Buffer) => (out.text += b));
  return out;
};
const exited = (child: ChildProcess) =>
  new Promise<number>((r) =>
    child.exitCode !== null ? r(child.exitCode) : child.once("exit", (c) => r(c ?? -1)),
  );
/** Remote steps are slower: a longer patience, polled less often. */
const until = (f: () => boolean | Promise<boolean>, ms = 30_000) => waitUntil(f, ms, 200);
/** The remote engine, as root sees it (for checks only: the user never uses this). */
const remoteEnv = () =>
  Object.fromEntries(
    execFileSync("sh", ["scripts/remote-engine.sh", "env", "1"], { encoding: "utf8" })
      .trim()
      .split("\n")
      .map((l) => l.split("=") as [string, string]),
  );
const dockerRemote = (...args: string[]) =>
  execFileSync("docker", args, { encoding: "utf8", env: { ...process.env, ...remoteEnv() } }).trim();
const inEngineHost = (...argv: string[]) =>
  execFileSync("ip", ["netns", "exec", NETNS, ...argv], { encoding: "utf8" });

beforeAll(() => {
  execFileSync("sh", ["scripts/remote-engine.sh", "up", "1"], { stdio: "inherit" });
  // A LOG line from a node's namespace reaches the kernel log only if the kernel's first
  // namespace allows it: on a real host the helper sets it, here that namespace is this machine's.
  writeFileSync("/proc/sys/net/netfilter/nf_log_all_netns", "1");
  try {
    execFileSync("id", [USER], { stdio: "ignore" });
  } catch {
    // useradd gives it a /etc/subuid range: mmdebstrap builds root filesystems in a user namespace.
    execFileSync("useradd", ["--create-home", "--shell", "/bin/bash", USER]);
  }
  // The user's own copy of fwlab (the CLI bundle, images, scenarios), as if they had installed it.
  if (
    !existsSync("dist/fwlab.mjs") ||
    execFileSync("find", ["src", "web/src", "-newer", "dist/fwlab.mjs"], { encoding: "utf8" })
  )
    execFileSync("node", ["scripts/build-cli.mjs"], { stdio: "inherit" });
  rmSync(CHECKOUT, { recursive: true, force: true });
  mkdirSync(CHECKOUT, { recursive: true });
  for (const p of [
    "bin",
    "dist",
    "images",
    "scenarios",
    "web",
    "docker-compose.yml",
    "package.json",
    "test/fixtures",
  ])
    cpSync(join(root, p), join(CHECKOUT, p), { recursive: true });
  // Its TLS material where the docker CLI looks by default (~/.docker), as a user would keep it.
  mkdirSync(join(HOME, ".docker"), { recursive: true });
  for (const f of ["ca.pem", "cert.pem", "key.pem"])
    cpSync(`/var/lib/fwr-1/client/${f}`, join(HOME, ".docker", f));
  rmSync(join(HOME, ".docker", "contexts"), { recursive: true, force: true });
  rmSync(join(HOME, ".docker", "config.json"), { force: true });
  execFileSync("chown", ["-R", `${USER}:${USER}`, HOME]);
}, 300_000);

afterAll(async () => {
  await asUser({ DOCKER_HOST: ENGINE, DOCKER_TLS_VERIFY: "1" }, ["node", "dist/fwlab.mjs", "down", "--all"]);
});

const viaEnv = { DOCKER_HOST: ENGINE, DOCKER_TLS_VERIFY: "1" };
const fwlab = (...args: string[]) => asUser(viaEnv, ["node", "dist/fwlab.mjs", ...args]);

describe("a remote engine over TCP with TLS, as a user who is not root", () => {
  it("the user can neither enter the engine's namespace nor use this machine's engine", async () => {
    expect((await asUser({}, ["nsenter", `--net=/run/netns/${NETNS}`, "true"])).code).not.toBe(0);
    const local = await asUser({}, ["docker", "-H", "unix:///var/run/docker.sock", "version"]);
    expect(local.code, local.stdout).not.toBe(0);
    expect((await asUser({}, ["id", "-u"])).stdout.trim()).not.toBe("0");
  });

  it("fwlab images builds every image on that engine through its API, without root", async () => {
    // From nothing: the engine has no fwlab image, so the base is imported and every role built.
    // That engine is this test's own: whatever an interrupted run or a benchmark left goes first.
    const left = dockerRemote("ps", "-aq");
    if (left) dockerRemote("rm", "-f", ...left.split("\n"));
    // Every image, untagged ones too: images streamed here by a multi-host lab (multihost.test)
    // leave older builds untagged, and those hold the base as their parent.
    dockerRemote("image", "prune", "-af");
    const r = await fwlab("images");
    expect(r.code, r.stderr).toBe(0);
    // The root filesystem: built unprivileged (mmdebstrap in a user namespace), or this user's
    // own one from an earlier run; never debootstrap, which needs root.
    expect(r.stderr).toMatch(/builder: mmdebstrap --mode=unshare as fwlabci|root filesystem: .*made earlier/);
    expect(r.stderr).not.toMatch(/debootstrap as root/);
    expect(r.stderr).toContain(
      `docker import of the root filesystem as fwlab/base:latest on engine ${ENGINE}`,
    );
    expect((await fwlab("images", "--check")).code).toBe(0);
  }, 600_000);

  it("docker context create: the same engine by name", async () => {
    const pem = (f: string) => join(HOME, ".docker", f);
    const r = await asUser({}, [
      "docker",
      "context",
      "create",
      CONTEXT,
      "--docker",
      `host=${ENGINE},ca=${pem("ca.pem")},cert=${pem("cert.pem")},key=${pem("key.pem")}`,
    ]);
    expect(r.code, r.stderr).toBe(0);
  });
});

// The same commands, the engine named two ways: DOCKER_HOST (TLS from ~/.docker), then a docker
// context, by --context on the command line and by `docker context use`.
describe.each([
  { how: "DOCKER_HOST", env: viaEnv, flags: [] as string[] },
  { how: "--context", env: {}, flags: ["--context", CONTEXT] },
])("every command against it, named by $how", ({ how, env, flags }) => {
  const cli = (...args: string[]) => asUser(env, ["node", "dist/fwlab.mjs", ...flags, ...args]);
  const spawnCli = (...args: string[]) => spawnAsUser(env, ["node", "dist/fwlab.mjs", ...flags, ...args]);
  const ping = () => cli("exec", "client", "--", "ping", "-c", "2", "-i", "0.2", "-W", "1", "10.0.2.80");

  it("up: the lab starts on that engine, wired on its host", async () => {
    const r = await cli("up");
    expect(r.code, r.stderr).toBe(0);
    const names = dockerRemote("ps", "--filter", "label=fwlab.lab=fwlab", "--format", "{{.Names}}");
    expect(names.split("\n").sort()).toEqual(
      [
        "fwlab-client",
        "fwlab-dns",
        "fwlab-extdns",
        "fwlab-fw",
        "fwlab-ftp",
        "fwlab-inet",
        "fwlab-ssh",
        "fwlab-web",
      ].sort(),
    );
    // Its bridges are on the engine's host, not on this machine.
    expect(inEngineHost("ip", "-o", "link", "show", "type", "bridge")).toContain("alias fwlab:fwlab:lan:");
    expect(execFileSync("ip", ["-o", "link", "show", "type", "bridge"], { encoding: "utf8" })).not.toContain(
      "alias fwlab:fwlab:lan:",
    );
    // Started once on that engine, labelled: the host helper.
    expect(dockerRemote("ps", "--filter", "label=fwlab.helper=hostd", "--format", "{{.Names}}")).toMatch(
      /^fwlab-hostd-/,
    );
  });

  it("status says which engine", async () => {
    const r = await cli("status");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`lab fwlab on engine ${how === "DOCKER_HOST" ? ENGINE : CONTEXT}: ready`);
  });

  it("load and rules", async () => {
    const r = await cli("load", "fw", "test/fixtures/rulesets/evidence.sh");
    expect(r.code, r.stderr).toBe(0);
    const rules = await cli("rules", "fw");
    expect(rules.stdout).toMatch(/LOG .*prefix "fwd-echo "/);
  });

  it("logs -f: LOG and NFLOG lines, attributed to the lab's fw", async () => {
    const child = spawnCli("logs", "-f", "--seconds", "6", "--json");
    const out = collect(child);
    await until(() => out.text.includes("following LOG and NFLOG"), 20_000);
    expect((await ping()).code).toBe(0);
    expect(await exited(child), out.text).toBe(0);
    const events = out.text
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map(
        (l) =>
          JSON.parse(l) as { kind: string; source?: string; prefix?: string; lab?: string; node?: string },
      );
    const logs = events.filter((e) => e.kind === "packet-log" && e.lab === "fwlab" && e.node === "fw");
    expect(logs.filter((e) => e.source === "LOG" && e.prefix === "fwd-echo").length, out.text).toBe(2);
    expect(logs.filter((e) => e.source === "NFLOG" && e.prefix === "nf-echo").length, out.text).toBe(2);
  });

  it("conntrack --watch shows a new connection", async () => {
    const child = spawnCli("conntrack", "fw", "--watch");
    const out = collect(child);
    await until(() => out.text.includes("(Ctrl-C ends)"), 20_000);
    await ping();
    expect(await until(() => /10\.0\.1\.10.*10\.0\.2\.80/.test(out.text), 20_000), out.text).toBe(true);
    child.kill("SIGINT");
    expect(await exited(child)).not.toBe(-1);
  });

  it("trace: the rules an echo request passes, and its verdict", async () => {
    const child = spawnCli("trace", "fw", "--match", "-p icmp --icmp-type echo-request", "--seconds", "6");
    const out = collect(child);
    await until(() => out.text.includes("tracing "), 20_000);
    await ping();
    expect(await exited(child), out.text).toBe(0);
    expect(out.text).toMatch(/filter:FORWARD:\d+:.*LOG/);
  });

  it("capture writes a pcap of a node's interface", async () => {
    const file = join(HOME, `capture-${how.replace(/\W/g, "")}.pcap`);
    const child = spawnCli("capture", "fw", "lan", "--seconds", "4", "-o", file);
    const out = collect(child);
    await until(() => out.text.includes("capturing "), 20_000);
    await ping();
    expect(await exited(child), out.text).toBe(0);
    // pcap's magic number, then packets.
    const pcap = readFileSync(file);
    expect(pcap.readUInt32LE(0).toString(16)).toMatch(/^a1b2c3d4|^a1b23c4d/);
    expect(pcap.length).toBeGreaterThan(100);
  });

  it("run scenarios/: the whole seed pack passes", async () => {
    const r = await cli("run", "scenarios/");
    expect(r.code, `${r.stdout}\n${r.stderr}`.slice(-4000)).toBe(0);
    expect(r.stdout).toMatch(/\d+ passed, 0 failed/);
  }, 600_000);

  it("serve: the dashboard lists the lab with its engine", async () => {
    const child = spawnCli("serve", "--port", "0");
    const out = collect(child);
    expect(await until(() => /dashboard: \S+/.test(out.text), 30_000), out.text).toBe(true);
    const url = new URL(/dashboard: (\S+)/.exec(out.text)![1]!);
    const token = url.hash.replace("#token=", "");
    const r = await fetch(`${url.origin}/api/labs`, { headers: { authorization: `Bearer ${token}` } });
    const labs = (await r.json()) as { name: string; engine: string }[];
    expect(labs).toContainEqual(
      expect.objectContaining({ name: "fwlab", engine: how === "DOCKER_HOST" ? ENGINE : CONTEXT }),
    );
    // The page comes from the bundle (dist/web): this checkout has no node_modules.
    for (const [path, type] of [
      ["/", "text/html"],
      ["/app.js", "text/javascript"],
      ["/vendor/xterm.css", "text/css"],
      ["/vendor/uPlot.min.css", "text/css"],
    ]) {
      const page = await fetch(`${url.origin}${path}`);
      expect(page.status, path).toBe(200);
      expect(page.headers.get("content-type"), path).toContain(type);
    }
    child.kill("SIGINT");
    expect(await exited(child)).toBe(0);
  });

  if (how === "DOCKER_HOST")
    it("kill -9 during a run: the next command cleans up", async () => {
      const child = spawnCli("run", "test/fixtures/scenarios/faults/slow.scenario.yml");
      const out = collect(child);
      expect(
        await until(
          async () =>
            (await cli("exec", "-n", "faults", "client", "--", "pgrep", "-f", "sleep 20.5")).code === 0,
          120_000,
        ),
        out.text,
      ).toBe(true);
      child.kill("SIGKILL");
      await exited(child);
      const next = await cli("run", "test/fixtures/scenarios/faults/lockdown.scenario.yml");
      expect(next.code, next.stderr).toBe(0);
      expect(next.stderr).toMatch(/\[fw\] put back the ruleset and sysctls a run that died/);
      await cli("exec", "-n", "faults", "client", "--", "pkill", "-f", "sleep 20.5");
      expect((await cli("down", "-n", "faults")).code).toBe(0);
    }, 300_000);

  it("down: nothing of the lab is left on that engine or its host", async () => {
    const r = await cli("down", "-n", "fwlab");
    expect(r.code, r.stderr).toBe(0);
    expect(dockerRemote("ps", "-a", "--filter", "label=fwlab.lab=fwlab", "-q")).toBe("");
    expect(inEngineHost("ip", "-o", "link", "show", "type", "bridge")).not.toContain("fwlab:fwlab:");
    // (An engine run with --bridge none, as this one, has no DOCKER-USER chain: nothing to open.)
    expect(inEngineHost("iptables", "-S")).not.toContain("fwlab:fwlab");
  });
});

describe("afterwards", () => {
  it("down --all removes the helper too, once no lab is left", async () => {
    await asUser({}, ["docker", "context", "use", CONTEXT]);
    // No flag, no DOCKER_HOST: the docker CLI's current context names the engine.
    const r = await asUser({}, ["node", "dist/fwlab.mjs", "down", "--all"]);
    expect(r.code, r.stderr).toBe(0);
    expect(dockerRemote("ps", "-a", "--filter", "label=fwlab.helper", "-q")).toBe("");
    await asUser({}, ["docker", "context", "use", "default"]);
  });
});
