import { beforeAll, describe, expect, it } from "vitest";
import { fwlab } from "./cli-helpers.ts";
import { OPEN_RULES, sharedLab } from "./shared-lab.ts";

let lab: string;
beforeAll(async () => {
  lab = (await sharedLab()).name;
});

describe("fwlab CLI against the shared lab", () => {
  it("status --json says every node is ready, with role, state, addresses and image", async () => {
    const r = await fwlab("status", "--json", "--name", lab);
    expect(r.code).toBe(0);
    const status = JSON.parse(r.stdout);
    expect(status.ready).toBe(true);
    expect(status.nodes).toHaveLength(8);
    const fw = status.nodes.find((n: { name: string }) => n.name === "fw");
    expect(fw).toMatchObject({
      role: "firewall",
      state: "running",
      ready: true,
      image: "fwlab/firewall:latest",
    });
    expect(fw.addresses).toEqual({ lan: "10.0.1.1", dmz: "10.0.2.1", wan: "198.51.100.1" });
  });

  it("exec passes the command's exit code and output through", async () => {
    const r = await fwlab(
      "exec",
      "--name",
      lab,
      "client",
      "--",
      "sh",
      "-c",
      "echo out; echo err >&2; exit 7",
    );
    expect(r).toMatchObject({ code: 7, stdout: "out\n", stderr: "err\n" });
  });

  it("load of the typo ruleset exits 2 and names the line; rules still shows the earlier ruleset", async () => {
    expect((await fwlab("load", "--name", lab, "fw", "scenarios/demo/forward-counting.rules")).code).toBe(0);
    const r = await fwlab("load", "--name", lab, "fw", "scenarios/seed-000/stateful-as-published.sh");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("line 17");
    expect(r.stderr).toContain("RELTAED");
    const rules = await fwlab("rules", "--name", lab, "fw");
    expect(rules.code).toBe(0);
    expect(rules.stdout).toMatch(/Chain FORWARD \(policy DROP \d+ packets, \d+ bytes\)/);
    expect(rules.stdout).toContain("lan ping dmz");
    expect(rules.stdout).toMatch(/^num\s+pkts\s+bytes\s+target/m);
    expect((await fwlab("load", "--name", lab, "fw", OPEN_RULES)).code).toBe(0);
  });

  it("rules lists the tables there are, of both families, and no other", async () => {
    const load = await fwlab(
      "load",
      "--name",
      lab,
      "fw",
      "scenarios/seed-003/port-forward.sh",
      "--ipv6",
      "scenarios/ipv6/basic6.sh",
    );
    expect(load.code, load.stderr).toBe(0);
    const rules = await fwlab("rules", "--name", lab, "fw");
    const tables = rules.stdout.split("\n").filter((l) => l.startsWith("# table"));
    expect(tables).toEqual(["# table nat", "# table filter", "# table filter (ipv6)"]);
    expect(rules.stdout).toMatch(/Chain PREROUTING \(policy ACCEPT/);
    // A load replaces the ruleset of both families: the IPv6 one goes with an IPv4-only load.
    expect((await fwlab("load", "--name", lab, "fw", OPEN_RULES)).code).toBe(0);
    expect((await fwlab("rules", "--name", lab, "fw")).stdout).not.toContain("(ipv6)");
  });

  it("an unknown node is an input error naming the nodes there are", async () => {
    const r = await fwlab("exec", "--name", lab, "clinet", "--", "true");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no node "clinet" (did you mean "client"?)');
  });
});

// Bad lab files (and scenarios and rulesets): every file under test/fixtures/bad/ is run by
// bad-input.test.ts.
describe("fwlab down", () => {
  it("down of a lab that is not there is a no-op", async () => {
    const r = await fwlab("down", "--name", "never-started");
    expect(r).toMatchObject({ code: 0 });
    expect(r.stderr).toContain("Nothing to remove for lab never-started");
  });
});
