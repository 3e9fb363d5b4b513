import { describe, expect, it } from "vitest";
import { labStatus } from "../../src/lab/lab-status.ts";
import { removeLab } from "../../src/lab/remove-lab.ts";
import { startLab } from "../../src/lab/start-lab.ts";
import { StartedLab } from "../../src/lab/started-lab.ts";
import { HELPER_IMAGE } from "../../src/runtime/helper-container.ts";
import { LABEL } from "../../src/runtime/labels.ts";
import { fakeEngine, helperContainer, withImages } from "../support/fake-engine.ts";

// The lab lifecycle (lab/) on the fake engine: what is asked of the engine and of its host, and
// what is left behind, without Docker.
const MINI = "test/fixtures/labs/mini.yml"; // client - fw - web, networks inside and outside
const FLAT = "test/fixtures/labs/flat.yml"; // client and web on one network
const IMAGES = ["fwlab/client:latest", "fwlab/firewall:latest", "fwlab/web:latest"];

const ready = () => {
  const engine = fakeEngine();
  withImages(engine, IMAGES);
  return engine;
};

describe("startLab on the fake engine", () => {
  it("creates a container per node with networking off, a bridge per network and a veth per link", async () => {
    const engine = ready();
    const lab = await startLab(MINI, { engine });
    expect(lab.nodes.map((n) => n.name)).toEqual(["client", "fw", "web"]);
    const specs = [...engine.runtime.containers.values()].map((c) => c.spec);
    expect(specs.map((s) => s.name).sort()).toEqual(["mini-client", "mini-fw", "mini-web"]);
    for (const s of specs) {
      expect(s.network ?? "disabled").toBe("disabled");
      expect(s.privileged).toBeFalsy();
      expect(s.capAdd).toEqual(["NET_ADMIN", "NET_RAW"]);
    }
    // Bridges carry the alias by which down finds them, even after a crash.
    expect([...engine.host.bridges.values()].sort()).toEqual([
      "fwlab:mini:inside:10.50.1.0/24",
      "fwlab:mini:outside:10.50.2.0/24",
    ]);
    expect(engine.host.veths.size).toBe(4); // client 1, fw 2, web 1
    // The host never answers a lab, and passes only frames that stay on one bridge.
    expect([...engine.host.nftTables].sort()).toEqual(["arp fwlab_host", "inet fwlab_host"]);
    for (const br of engine.host.bridges.keys()) {
      expect(engine.host.dockerUser).toContain(
        `-A DOCKER-USER -i ${br} -o ${br} -m comment --comment "fwlab:mini" -j ACCEPT`,
      );
      expect(engine.host.dockerUser).toContain(
        `-A DOCKER-USER -i ${br} -m comment --comment "fwlab:mini" -j DROP`,
      );
      expect(engine.host.files.get(`/proc/sys/net/ipv4/conf/${br}/arp_ignore`)).toBe("8");
      expect(engine.host.files.get(`/proc/sys/net/ipv4/conf/${br}/forwarding`)).toBe("0");
    }
    expect((await labStatus(engine.runtime, "mini")).ready).toBe(true);
  });

  it("a node that fails to get ready: the error names it and its output, and nothing is left", async () => {
    const engine = fakeEngine({
      ready: (c) =>
        c.spec.labels[LABEL.node] === "web" ? "fwlab-failed: nginx did not answer on 80" : "fwlab-ready",
    });
    withImages(engine, IMAGES);
    await expect(startLab(MINI, { engine, readyTimeoutMs: 2000 })).rejects.toThrow(
      /\[web\] nginx did not answer on 80\n {2}last output:/,
    );
    expect(engine.runtime.containers.size).toBe(0);
    expect(engine.host.bridges.size).toBe(0);
    expect(engine.host.veths.size).toBe(0);
    expect(engine.host.dockerUser).toEqual([]);
    expect(engine.host.nftTables.size).toBe(0);
  });

  it("a node that never says it is ready times out, and nothing is left", async () => {
    const engine = fakeEngine({
      ready: (c) => (c.spec.labels[LABEL.node] === "fw" ? undefined : "fwlab-ready"),
    });
    withImages(engine, IMAGES);
    await expect(startLab(MINI, { engine, readyTimeoutMs: 50 })).rejects.toThrow(
      /\[fw\] not ready after 0.05s/,
    );
    expect(engine.runtime.containers.size).toBe(0);
    expect(engine.host.bridges.size).toBe(0);
  });

  it("a host whose FORWARD chain lost Docker's jump to DOCKER-USER is named at up, and nothing is left", async () => {
    const engine = ready();
    engine.host.files.set("/proc/sys/net/bridge/bridge-nf-call-iptables", "1\n");
    engine.host.forward = ["-P FORWARD DROP"]; // `iptables -F` on the host
    await expect(startLab(MINI, { engine })).rejects.toThrow(
      /the host's FORWARD chain would drop every lab frame: its policy is DROP and it no longer jumps to DOCKER-USER .*restart the Docker engine/,
    );
    expect(engine.runtime.containers.size).toBe(0);
    expect(engine.host.bridges.size).toBe(0);
    // As Docker leaves it, the same host is fine.
    engine.host.forward = ["-P FORWARD DROP", "-A FORWARD -j DOCKER-USER"];
    await startLab(MINI, { engine });
  });

  it("a missing image is named before anything is created", async () => {
    const engine = fakeEngine();
    withImages(engine, ["fwlab/client:latest"]);
    await expect(startLab(MINI, { engine })).rejects.toThrow(
      /fwlab\/firewall:latest, fwlab\/web:latest not found/,
    );
    expect(engine.runtime.calls.some((c) => c.startsWith("create"))).toBe(false);
    expect(engine.host.commands).toEqual(
      expect.not.arrayContaining([expect.objectContaining({ argv: ["nft", "-f", "-"] })]),
    );
  });

  it("a lab already up and ready is attached, not made again", async () => {
    const engine = ready();
    await startLab(MINI, { engine });
    const created = engine.runtime.calls.filter((c) => c.startsWith("create")).length;
    const again = await startLab(MINI, { engine });
    expect(again.nodes).toHaveLength(3);
    expect(engine.runtime.calls.filter((c) => c.startsWith("create")).length).toBe(created);
  });

  it("what a killed `up` left (nodes never ready, bridges) is removed and the lab made whole", async () => {
    let first = true;
    const engine = fakeEngine({ ready: () => (first ? undefined : "fwlab-ready") });
    withImages(engine, IMAGES);
    const aborted = new AbortController();
    const up = startLab(MINI, { engine, signal: aborted.signal, readyTimeoutMs: 60_000 });
    await new Promise((r) => setTimeout(r, 30));
    aborted.abort();
    await expect(up).rejects.toThrow(/start aborted/);
    first = false;
    const lab = await startLab(MINI, { engine });
    expect(lab.nodes).toHaveLength(3);
    expect(engine.runtime.containers.size).toBe(3);
    expect(engine.host.bridges.size).toBe(2);
  });

  it("subnets that overlap a running lab's are refused (exit 2) before anything starts", async () => {
    const engine = ready();
    await startLab(MINI, { engine });
    const creates = engine.runtime.calls.filter((c) => c.startsWith("create")).length;
    await expect(startLab(MINI, { engine, name: "other" })).rejects.toMatchObject({
      exitCode: 2,
      message: expect.stringMatching(/overlaps network inside \(10\.50\.1\.0\/24\) of running lab "mini"/),
    });
    expect(engine.runtime.calls.filter((c) => c.startsWith("create")).length).toBe(creates);
  });
});

describe("removeLab on the fake engine", () => {
  it("removes one lab's containers, bridges and rules, and keeps the host tables while another lab runs", async () => {
    const engine = ready();
    await startLab(MINI, { engine });
    await startLab(FLAT, { engine });
    const removed = await removeLab(engine, "mini");
    expect(removed).toEqual({ containers: 3, networks: 2, unreachable: [] });
    expect([...engine.runtime.containers.values()].map((c) => c.spec.name).sort()).toEqual([
      "flat-client",
      "flat-web",
    ]);
    expect([...engine.host.bridges.values()]).toEqual(["fwlab:flat:net:10.60.1.0/24"]);
    expect(engine.host.dockerUser.every((r) => r.includes("fwlab:flat"))).toBe(true);
    expect(engine.host.nftTables.size).toBe(2);
    await removeLab(engine, "flat");
    expect(engine.host.bridges.size).toBe(0);
    expect(engine.host.veths.size).toBe(0);
    expect(engine.host.dockerUser).toEqual([]);
    expect(engine.host.nftTables.size).toBe(0);
  });

  it("a lab coming up while the last other one goes down keeps the host tables", async () => {
    const engine = ready();
    await startLab(MINI, { engine });
    // The down looks for lab bridges and removes the tables in one step under the host lock.
    await Promise.all([removeLab(engine, "mini"), startLab(FLAT, { engine })]);
    expect([...engine.host.bridges.values()]).toEqual(["fwlab:flat:net:10.60.1.0/24"]);
    expect(engine.host.nftTables.size).toBe(2);
    const lock = engine.host.commands.filter((c) => c.argv[0] === "flock");
    expect(lock.length).toBeGreaterThanOrEqual(2);
  });

  it("is idempotent: a lab already gone removes nothing and fails nothing", async () => {
    const engine = ready();
    expect(await removeLab(engine, "mini")).toEqual({ containers: 0, networks: 0, unreachable: [] });
  });

  it("down --all removes every lab, then the host helper", async () => {
    const engine = ready();
    await startLab(MINI, { engine });
    await startLab(FLAT, { engine });
    engine.runtime.images.refs.set(HELPER_IMAGE, {});
    await engine.runtime.createContainer(helperContainer("fwlab-hostd-abc"));
    expect(await removeLab(engine, { all: true })).toEqual({ containers: 5, networks: 3, unreachable: [] });
    expect(engine.runtime.containers.size).toBe(0);
  });
});

describe("a started lab's host side, on the fake engine", () => {
  it("sets a node's sysctl in its namespace through the host helper, by the PID the engine reports", async () => {
    const engine = ready();
    const lab = await startLab(MINI, { engine });
    await lab.setSysctl("fw", "net.ipv4.ip_forward", "0");
    const pid = await engine.runtime.containerPid(lab.node("fw").container);
    expect(engine.host.commands.at(-1)!.argv).toEqual([
      "nsenter",
      "-t",
      String(pid),
      "-n",
      "--",
      "sysctl",
      "-w",
      "net.ipv4.ip_forward=0",
    ]);
    await expect(lab.setSysctl("fw", "kernel.pid_max", "1")).rejects.toThrow(/only net\.\* sysctls/);
  });

  it("a terminal is hung up by the host helper when it closes: fwlab signals no PID itself", async () => {
    const engine = ready();
    const lab = await StartedLab.attach(engine, (await startLab(MINI, { engine })).name);
    const tty = await lab.shell("client", { cols: 80, rows: 24 });
    const pid = await tty.processId();
    await tty.stop();
    // Its process group, on the host, until it is gone (then killed): see host-netns.ts hangUp.
    const [sh, c, script, name, arg] = engine.host.commands.at(-1)!.argv;
    expect([sh, c, name, arg]).toEqual(["sh", "-c", "hang-up", String(pid)]);
    expect(script).toMatch(/kill -HUP -- "-\$p"/);
    expect(script).toMatch(/kill -KILL/);
  });

  it("packet counts come from the node's /proc/PID/net/dev on the engine's host, loopback aside", async () => {
    const engine = ready();
    const lab = await startLab(MINI, { engine });
    const pid = await engine.runtime.containerPid(lab.node("web").container);
    engine.host.files.set(
      `/proc/${pid}/net/dev`,
      [
        "Inter-|   Receive                                                |  Transmit",
        " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed",
        "    lo:     100       7    0    0    0     0          0         0      100       7    0    0    0     0       0          0",
        "outside:    900      12    0    0    0     0          0         0      800      10    0    0    0     0       0          0",
      ].join("\n"),
    );
    expect(await lab.packets("web")).toBe(22);
  });
});
