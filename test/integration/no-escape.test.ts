import { execFileSync } from "node:child_process";
import { beforeAll, describe, expect, it } from "vitest";
import type { StartedLab } from "../../src/index.ts";
import { labBridges } from "./cli-helpers.ts";
import { sharedLab } from "./shared-lab.ts";

// Checked without sending a packet anywhere: route lookups and the host's view of the bridges.
describe("no lab node can send a packet outside the lab", () => {
  let lab: StartedLab;
  let labAddresses: Set<string>;
  beforeAll(async () => {
    lab = await sharedLab();
    labAddresses = new Set(lab.nodes.flatMap((n) => Object.values(n.addresses)));
  });

  it("every lab network is a bridge with no host address, and the host's netfilter drops what would leave it", () => {
    const bridges = labBridges(lab.name)
      .split("\n")
      .map((l) => /^\d+: ([^:@]+)/.exec(l)![1]!);
    expect(bridges).toHaveLength(3);
    // Forwarding off on a bridge is a sysctl an ip_forward toggle resets (host-isolation.test.ts
    // toggles it): what holds is the host's own netfilter, checked here.
    const dockerUser = execFileSync("iptables", ["-w", "5", "-S", "DOCKER-USER"], { encoding: "utf8" });
    const hostTable = execFileSync("nft", ["list", "table", "inet", "fwlab_host"], { encoding: "utf8" });
    expect(hostTable).toMatch(/iifname "fwb-\*" drop/);
    expect(hostTable).toMatch(/oifname "fwb-\*" drop/);
    for (const br of bridges) {
      expect(
        execFileSync("ip", ["-o", "-4", "addr", "show", "dev", br], { encoding: "utf8" }).trim(),
        br,
      ).toBe("");
      expect(dockerUser, br).toContain(
        `-A DOCKER-USER -i ${br} -o ${br} -m comment --comment "fwlab:${lab.name}" -j ACCEPT`,
      );
      expect(dockerUser, br).toContain(
        `-A DOCKER-USER -i ${br} -m comment --comment "fwlab:${lab.name}" -j DROP`,
      );
    }
  });

  it("every default route points at a lab node, never at the host's bridge address", async () => {
    for (const node of lab.nodes) {
      const r = await lab.exec(node.name, ["ip", "-4", "route", "show", "default"]);
      const via = /via (\S+)/.exec(r.stdout)?.[1];
      if (via) expect(labAddresses.has(via), `${node.name} routes via ${via}`).toBe(true);
    }
  });

  it("the firewall and the wan hosts have no route off the lab at all", async () => {
    for (const node of ["fw", "inet", "extdns"]) {
      const r = await lab.exec(node, ["ip", "route", "get", "9.9.9.9"]);
      expect(r.exitCode, node).not.toBe(0);
      expect(r.stderr, node).toMatch(/unreachable/i);
    }
  });

  it("lan and dmz nodes reach anything else only through fw", async () => {
    for (const node of ["client", "dns", "ssh", "ftp", "web"]) {
      const r = await lab.exec(node, ["ip", "route", "get", "9.9.9.9"]);
      expect(r.stdout, node).toMatch(/via 10\.0\.[12]\.1 /);
    }
  });
});
