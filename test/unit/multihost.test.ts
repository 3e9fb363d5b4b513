import { describe, expect, it } from "vitest";
import { checkSwarm } from "../../src/cluster/check-swarm.ts";
import { EventBus } from "../../src/evidence/event-bus.ts";
import { watchKernelLog } from "../../src/evidence/kernel-log-source.ts";
import { connectHosts } from "../../src/lab/lab-engines.ts";
import { removeLab } from "../../src/lab/remove-lab.ts";
import { startLab } from "../../src/lab/start-lab.ts";
import { HELPER_IMAGE } from "../../src/runtime/helper-container.ts";
import { LABEL } from "../../src/runtime/labels.ts";
import { overlayReservation } from "../../src/topology/overlay-reservation.ts";
import { networkHosts, placeLab } from "../../src/topology/place-lab.ts";
import { readLabFile } from "../../src/topology/read-lab-file.ts";
import { fakeEngine, joinFakeCluster, withImages } from "../support/fake-engine.ts";

// Issue 14 without Docker: where nodes go, where Docker's own overlay addresses go, and a lab
// started across three fake engines of one swarm.
const HOSTS = ["a", "b", "c"];
const MINI = "test/fixtures/labs/mini.yml"; // client - fw - web, networks inside and outside
const IMAGES = ["fwlab/client:latest", "fwlab/firewall:latest", "fwlab/web:latest"];

describe("placeLab", () => {
  const lab = readLabFile("docker-compose.yml");
  const hostOf = (spec: ReturnType<typeof placeLab>) =>
    Object.fromEntries(spec.nodes.map((n) => [n.name, n.host]));

  it("puts the firewall on host 2 and deals the networks to the others: the default lab", () => {
    expect(hostOf(placeLab(lab, HOSTS))).toEqual({
      fw: "b",
      client: "a",
      dns: "c",
      ssh: "c",
      ftp: "c",
      web: "c",
      inet: "a",
      extdns: "a",
    });
    expect(Object.fromEntries(networkHosts(placeLab(lab, HOSTS)))).toEqual({
      lan: ["b", "a"],
      dmz: ["b", "c"],
      wan: ["b", "a"],
    });
  });

  it("keeps a lab without hosts on one engine, and puts everything on the one host given", () => {
    expect(placeLab(lab)).toBe(lab);
    expect(new Set(Object.values(hostOf(placeLab(lab, ["solo"]))))).toEqual(new Set(["solo"]));
  });

  it("with two hosts, the firewall alone on the second", () => {
    const h = hostOf(placeLab(lab, ["a", "b"]));
    expect(h.fw).toBe("b");
    expect(
      Object.entries(h)
        .filter(([n]) => n !== "fw")
        .every(([, host]) => host === "a"),
    ).toBe(true);
  });

  it("lets a node's own host win, and refuses hosts that --hosts does not list", () => {
    const pinned = { ...lab, nodes: lab.nodes.map((n) => (n.name === "web" ? { ...n, host: "a" } : n)) };
    expect(hostOf(placeLab(pinned, HOSTS)).web).toBe("a");
    expect(() => placeLab(pinned, ["x", "y"])).toThrow(
      /node web is placed on host "a".*--hosts does not list \(x, y\)/,
    );
    expect(() => placeLab(lab, ["a", "a"])).toThrow(/listed twice/);
  });
});

describe("overlayReservation", () => {
  it("takes the highest free /28 of a /24 for Docker's addresses, the gateway at its top", () => {
    expect(overlayReservation("10.0.2.0/24", ["10.0.2.1", "10.0.2.53", "10.0.2.80"], 3)).toEqual({
      ipRange: "10.0.2.240/28",
      gateway: "10.0.2.254",
    });
  });

  it("steps down past blocks that hold a lab address", () => {
    expect(overlayReservation("10.0.1.0/24", ["10.0.1.254", "10.0.1.241"], 3)).toEqual({
      ipRange: "10.0.1.224/28",
      gateway: "10.0.1.239",
    });
  });

  it("uses a smaller block in a small subnet, and none where nothing fits", () => {
    expect(overlayReservation("192.168.5.0/28", ["192.168.5.1", "192.168.5.2"], 2)).toEqual({
      ipRange: "192.168.5.8/29",
      gateway: "192.168.5.14",
    });
    expect(overlayReservation("10.9.9.0/30", ["10.9.9.1", "10.9.9.2"], 2)).toBeUndefined();
  });
});

describe("a lab across three fake engines of one swarm", () => {
  const cluster = () => {
    const [a, b, c] = HOSTS.map((h) => fakeEngine({}, h));
    joinFakeCluster(a!, b!, c!);
    withImages(a!, [...IMAGES, HELPER_IMAGE]);
    withImages(b!, [...IMAGES, HELPER_IMAGE]);
    return {
      a: a!,
      b: b!,
      c: c!,
      engines: new Map([
        ["a", a!],
        ["b", b!],
        ["c", c!],
      ]),
    };
  };

  it("sends host c the images it lacks, makes overlays through the manager, and each node on its host", async () => {
    const { a, b, c, engines } = cluster();
    const lab = await startLab(MINI, { engine: a, engines, hosts: HOSTS });
    expect(c.runtime.images.loaded.sort()).toEqual([...IMAGES, HELPER_IMAGE].sort());
    expect(b.runtime.images.loaded).toEqual([]);
    // Both networks span hosts: overlays, made on the manager (a), Docker's addresses kept high.
    expect(a.runtime.calls.filter((x) => x.startsWith("network create")).sort()).toEqual([
      "network create fwlab-mini_inside 10.50.1.0/24 10.50.1.240/28 10.50.1.254",
      "network create fwlab-mini_outside 10.50.2.0/24 10.50.2.240/28 10.50.2.254",
    ]);
    const on = (e: typeof a) => [...e.runtime.containers.values()].map((x) => x.spec);
    expect(on(a).map((s) => s.name)).toEqual(["mini-client"]);
    expect(on(b).map((s) => s.name)).toEqual(["mini-fw"]);
    expect(on(c).map((s) => s.name)).toEqual(["mini-web"]);
    const fw = on(b)[0]!;
    expect(fw.dockerNetworks).toEqual([
      { name: "fwlab-mini_inside", address: "10.50.1.1" },
      { name: "fwlab-mini_outside", address: "10.50.2.1" },
    ]);
    // The init renames Docker's ethN by MAC; labels lead any engine to the others.
    expect(fw.env.FWLAB_RENAME).toBe("02:42:0a:32:01:01=inside 02:42:0a:32:02:01=outside");
    expect(fw.labels[LABEL.hosts]).toBe("a,b,c");
    expect(fw.labels[LABEL.host]).toBe("b");
    // No bridges or veths on any host: every network is an overlay.
    for (const e of [a, b, c]) expect(e.host.bridges.size + e.host.veths.size).toBe(0);
    expect(lab.engineOf("web")).toBe(c);
    expect(lab.nodes.map((n) => `${n.name}@${n.host}`)).toEqual(["client@a", "fw@b", "web@c"]);

    await lab.stop();
    for (const e of [a, b, c]) expect(e.runtime.containers.size).toBe(0);
    expect(await a.runtime.networks.list()).toEqual([]);
  });

  it("keeps a network whose nodes share a host a bridge on that host", async () => {
    const { a, engines } = cluster();
    const lab = await startLab(MINI, { engine: a, engines, hosts: ["a", "b"] });
    // fw on b; inside and outside dealt to a: client and web with fw's networks across a and b.
    expect(lab.nodes.map((n) => `${n.name}@${n.host}`)).toEqual(["client@a", "fw@b", "web@a"]);
    await lab.stop();
    const single = await startLab(MINI, { engine: a, engines, hosts: ["a"] });
    expect(a.host.bridges.size).toBe(2);
    expect(await a.runtime.networks.list()).toEqual([]);
    await single.stop();
    expect(a.host.bridges.size).toBe(0);
  });

  it("refuses engines that are not in one swarm, saying how to form one", async () => {
    const [a, b] = ["a", "b"].map((h) => fakeEngine({}, h));
    await expect(
      checkSwarm(
        new Map([
          ["a", a!],
          ["b", b!],
        ]),
      ),
    ).rejects.toThrow(/engines a, b are not in a swarm.*fwlab cluster init a b/);
    const [x, y, z] = ["x", "y", "z"].map((h) => fakeEngine({}, h));
    joinFakeCluster(x!, y!);
    joinFakeCluster(z!);
    await expect(
      checkSwarm(
        new Map([
          ["x", x!],
          ["z", z!],
        ]),
      ),
    ).rejects.toThrow(/none of x, z is a swarm manager|another swarm/);
    await expect(
      checkSwarm(
        new Map([
          ["x", x!],
          ["y", y!],
        ]),
      ),
    ).resolves.toBe(x);
  });

  it("down through one engine cleans every host and the overlays", async () => {
    const { a, b, c, engines } = cluster();
    await startLab(MINI, { engine: a, engines, hosts: HOSTS });
    const r = await removeLab(b, "mini", engines);
    expect(r).toMatchObject({ containers: 3, networks: 2, unreachable: [] });
    for (const e of [a, b, c]) expect(e.runtime.containers.size).toBe(0);
  });
});

describe("connectHosts", () => {
  it("tells a host that is gone (no connection) from one that is busy (answers late)", async () => {
    const [busy, slow, gone] = ["busy", "slow", "gone"].map((h) => fakeEngine({}, h));
    const late = (ms: number) => async () => {
      await new Promise((r) => setTimeout(r, ms));
      return { version: "fake", apiVersion: "1.41", kernel: "6.0", os: "linux", arch: "amd64" };
    };
    busy!.runtime.version = late(100);
    slow!.runtime.version = late(2_000);
    gone!.runtime.reach = () => Promise.reject(new Error("10.99.0.13:2376: connect EHOSTUNREACH"));
    const known = new Map([busy!, slow!, gone!].map((e) => [e.name, e] as const));
    const r = await connectHosts(["gone", "busy", "slow"], known, { connectMs: 50, answerMs: 500 });
    expect([...r.engines.keys()]).toEqual(["busy"]);
    expect(r.unreachable.sort((x, y) => x.host.localeCompare(y.host))).toEqual([
      { host: "gone", reason: "10.99.0.13:2376: connect EHOSTUNREACH" },
      { host: "slow", reason: "it accepts connections but answers nothing within 0.5 s" },
    ]);
  });
});

describe("the kernel logs of a lab's hosts", () => {
  const readers = (e: ReturnType<typeof fakeEngine>) =>
    e.host.commands.filter((c) => c.argv.includes("kmsg")).length;

  it("are read once per kernel: hosts that share one (a simulated cluster's) give each line once", async () => {
    const [a, b, c] = HOSTS.map((h) => fakeEngine({}, h));
    a!.host.files.set("/proc/sys/kernel/random/boot_id", "kernel-1\n");
    b!.host.files.set("/proc/sys/kernel/random/boot_id", "kernel-1\n");
    c!.host.files.set("/proc/sys/kernel/random/boot_id", "kernel-2\n");
    const watch = await watchKernelLog(a!, new EventBus(100));
    await watch.follow([a!, b!, c!]);
    await watch.follow([b!]);
    expect([readers(a!), readers(b!), readers(c!)]).toEqual([1, 0, 1]);
    await watch.stop();
  });
});
