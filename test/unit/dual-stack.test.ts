import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { nodeContainer } from "../../src/lab/node-container.ts";
import { startLab } from "../../src/lab/start-lab.ts";
import { HELPER_IMAGE } from "../../src/runtime/helper-container.ts";
import { canonicalIpv6, parseCidr6 } from "../../src/topology/ipv6.ts";
import { readLabFile } from "../../src/topology/read-lab-file.ts";
import { fakeEngine, joinFakeCluster, withImages } from "../support/fake-engine.ts";
import { scratchDir } from "../support/scratch-dir.ts";

// Issue 15 without Docker: dual-stack lab files, what a node is told, and a multi-host lab's
// networks that span hosts keeping IPv4 only.
const dir = scratchDir("dual");
const lab = (nets: string, web = "", extra = "") => {
  const p = join(dir, `lab-${Math.random().toString(36).slice(2)}.yml`);
  writeFileSync(
    p,
    `version: "2.4"
x-fwlab: { name: dual${extra} }
services:
  fw:
    image: fwlab/firewall:latest
    cap_add: [NET_ADMIN]
    networks:
      inside: { ipv4_address: 10.50.1.1, ipv6_address: "2001:DB8:51:0::1" }
      outside: { ipv4_address: 10.50.2.1, ipv6_address: "2001:db8:52::1" }
    x-fwlab: { role: firewall }
  client:
    image: fwlab/client:latest
    cap_add: [NET_ADMIN]
    networks:
      inside: { ipv4_address: 10.50.1.10, ipv6_address: "2001:db8:51::10" }
    x-fwlab: { role: client, gateway: 10.50.1.1 }
  web:
    image: fwlab/web:latest
    cap_add: [NET_ADMIN]
    networks:
      outside: { ipv4_address: 10.50.2.80, ipv6_address: "2001:db8:52::80" }
    x-fwlab: { role: web, gateway: 10.50.2.1${web} }
networks:
${nets}`,
  );
  return p;
};
const NETS = `  inside:
    internal: true
    enable_ipv6: true
    ipam: { config: [{ subnet: 10.50.1.0/24 }, { subnet: "2001:db8:51::/64" }] }
  outside:
    internal: true
    enable_ipv6: true
    ipam: { config: [{ subnet: 10.50.2.0/24 }, { subnet: "2001:db8:52::/64" }] }`;

describe("IPv6 addresses", () => {
  it("are read in one canonical form (RFC 5952), and prefixes checked", () => {
    expect(canonicalIpv6("2001:0DB8:0000:0000:0000:0000:0000:0010")).toBe("2001:db8::10");
    expect(canonicalIpv6("2001:db8:1:0:0:1:0:0")).toBe("2001:db8:1::1:0:0");
    expect(canonicalIpv6("1:2:3:4:5:6:7::")).toBe("1:2:3:4:5:6:7:0");
    expect(canonicalIpv6("1:::2")).toBeUndefined();
    expect(canonicalIpv6("10.0.0.1")).toBeUndefined();
    expect(parseCidr6("2001:db8::/129")).toBeUndefined();
  });
});

describe("a dual-stack lab file", () => {
  it("gives each node its IPv6 addresses, and routes IPv6 through the node its gateway names", () => {
    const spec = readLabFile(lab(NETS));
    expect(spec.networks.map((n) => n.subnet6)).toEqual(["2001:db8:51::/64", "2001:db8:52::/64"]);
    const fw = spec.nodes.find((n) => n.name === "fw")!;
    expect(fw.interfaces.map((i) => i.address6)).toEqual(["2001:db8:51::1", "2001:db8:52::1"]);
    expect(spec.nodes.find((n) => n.name === "client")!.gateway6).toBe("2001:db8:51::1");
    const env = nodeContainer(spec, fw, 30).env;
    expect(env.FWLAB_IFACES).toBe(
      "inside=10.50.1.1/24,2001:db8:51::1/64 outside=10.50.2.1/24,2001:db8:52::1/64",
    );
    expect(env.FWLAB_HOSTS).toContain("web=2001:db8:52::80");
    const sysctls = nodeContainer(spec, fw, 30).sysctls;
    expect(sysctls["net.ipv6.conf.all.disable_ipv6"]).toBe("0");
    expect(sysctls["net.ipv6.conf.all.accept_ra"]).toBe("0");
    // The IPv4-only lab keeps IPv6 off altogether.
    const v4 = readLabFile("test/fixtures/labs/mini.yml");
    expect(nodeContainer(v4, v4.nodes[0]!, 30).sysctls["net.ipv6.conf.all.disable_ipv6"]).toBe("1");
  });

  it("refuses IPv6 addresses a network cannot hold, with the key that is wrong", () => {
    expect(() => readLabFile(lab(NETS.replace('"2001:db8:52::/64"', '"2001:db8:51::/80"')))).toThrow(
      /overlaps network "inside"/,
    );
    expect(() =>
      readLabFile(
        lab(
          NETS.replace(
            "enable_ipv6: true\n    ipam: { config: [{ subnet: 10.50.2.0/24 }",
            "ipam: { config: [{ subnet: 10.50.2.0/24 }",
          ),
        ),
      ),
    ).toThrow(/set enable_ipv6: true/);
    expect(() => readLabFile(lab(NETS, ', gateway6: "2001:db8:51::1"'))).toThrow(
      /gateway6 .* outside this node's IPv6 networks/,
    );
    expect(() => readLabFile(lab(NETS.replace('"2001:db8:52::/64"', '"2001:db8:53::/64"')))).toThrow(
      /2001:db8:52::1 is not a host address of outside/,
    );
  });
});

describe("a dual-stack lab across hosts", () => {
  it("gives nodes on an overlay their IPv6 neighbours up front (overlays carry no neighbour discovery)", async () => {
    const [a, b, c] = ["a", "b", "c"].map((h) => fakeEngine({}, h));
    joinFakeCluster(a!, b!, c!);
    const images = ["fwlab/client:latest", "fwlab/firewall:latest", "fwlab/web:latest", HELPER_IMAGE];
    for (const e of [a!, b!, c!]) withImages(e, images);
    const engines = new Map([
      ["a", a!],
      ["b", b!],
      ["c", c!],
    ]);
    // web beside fw on b: "outside" stays on one host (a bridge), "inside" spans a and b.
    const started = await startLab(lab(NETS, ", host: b", ", hosts: [a, b, c]"), {
      engine: a!,
      engines,
      hosts: ["a", "b", "c"],
    });
    const env = (e: typeof a, name: string) =>
      [...e!.runtime.containers.values()].find((x) => x.spec.name === name)!.spec.env;
    expect(env(b, "dual-fw").FWLAB_IFACES).toBe(
      "inside=10.50.1.1/24,2001:db8:51::1/64 outside=10.50.2.1/24,2001:db8:52::1/64",
    );
    expect(env(b, "dual-fw").FWLAB_NEIGH6).toBe("inside,2001:db8:51::10,02:42:0a:32:01:0a");
    expect(env(a, "dual-client").FWLAB_NEIGH6).toBe("inside,2001:db8:51::1,02:42:0a:32:01:01");
    expect(env(a, "dual-client").FWLAB_GATEWAY6).toBe("2001:db8:51::1");
    // On a bridge, neighbour discovery works as on any link: nothing fixed.
    expect(env(b, "dual-web").FWLAB_NEIGH6).toBeUndefined();
    await started.stop();
  });
});
