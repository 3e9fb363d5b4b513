import { execFileSync } from "node:child_process";
import { beforeAll, describe, expect, it } from "vitest";
import type { StartedLab } from "../../src/index.ts";
import { sharedLab } from "./shared-lab.ts";

// Checked without sending a packet anywhere: route lookups and Docker's own view.
describe("no lab node can send a packet outside the lab", () => {
  let lab: StartedLab;
  let labAddresses: Set<string>;
  beforeAll(async () => {
    lab = await sharedLab();
    labAddresses = new Set(lab.nodes.flatMap((n) => Object.values(n.addresses)));
  });

  it("every lab network is internal in Docker", () => {
    const out = execFileSync(
      "docker",
      ["network", "ls", "--filter", `label=fwlab.lab=${lab.name}`, "--format", "{{.Name}} {{.Internal}}"],
      {
        encoding: "utf8",
      },
    );
    const rows = out.trim().split("\n");
    expect(rows).toHaveLength(3);
    for (const row of rows) expect(row).toMatch(/ true$/);
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
