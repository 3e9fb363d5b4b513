import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FwlabError, type StartedLab } from "../../src/index.ts";
import { runScenarios } from "../../src/scenarios/run-scenarios.ts";
import { canonicalIpv6 } from "../../src/topology/ipv6.ts";
import { labBridges } from "./cli-helpers.ts";
import { OPEN_RULES, received, sharedLab } from "./shared-lab.ts";

// Issue 15 on real kernels: the default lab is dual-stack, every probe kind speaks IPv6, an
// IPv6 ruleset loads all or nothing with the IPv4 one, evidence reads IPv6 packets, and the
// host stays out of the lab over IPv6 too.
let lab: StartedLab;
beforeAll(async () => {
  lab = await sharedLab();
});
afterAll(() => lab.loadRuleset("fw", OPEN_RULES));

// The ruleset, without the policies' packet counters (fw's own IPv6 neighbour and multicast
// traffic moves them at any moment: they are not the ruleset).
const ip6save = async () =>
  (await lab.exec("fw", ["ip6tables-nft-save"])).stdout
    .split("\n")
    .filter((l) => l.startsWith("-A ") || /^:\w+ (ACCEPT|DROP)/.test(l))
    .map((l) => l.replace(/ \[\d+:\d+\]$/, ""))
    .join("\n");

describe("a dual-stack lab", () => {
  it("reaches every node over both families through fw, names resolving to both", async () => {
    await lab.loadRuleset("fw", OPEN_RULES); // IPv4 open, IPv6 empty (everything passes)
    for (const n of lab.nodes.filter((x) => x.name !== "client")) {
      const six = await lab.exec("client", ["ping", "-c", "1", "-W", "2", lab.address6(n.name)]);
      expect(received(six.stdout), `${n.name} over IPv6`).toBe(1);
      // The wan knows no route back to the lan over IPv4 (that takes NAT on fw): from fw.
      const from = n.addresses.wan ? "fw" : "client";
      if (n.name === from) continue;
      const four = await lab.exec(from, ["ping", "-c", "1", "-W", "2", lab.address(n.name)]);
      expect(received(four.stdout), `${n.name} over IPv4`).toBe(1);
    }
    const names = await lab.exec("client", ["getent", "ahosts", "web"]);
    expect(names.stdout).toContain(lab.address("web"));
    expect(names.stdout).toContain(lab.address6("web"));
    // IPv4 first for programs that connect by name (/etc/gai.conf): old verdicts hold.
    expect(names.stdout.split("\n")[0]).toContain(lab.address("web"));
  });

  it("runs every probe kind over IPv6: ok, timeout, refused and unreachable, with LOG and conntrack evidence", async () => {
    const [r] = await runScenarios(["test/fixtures/scenarios/ipv6/probes.scenario.yml"], {
      labName: lab.name,
      bundleDir: "test-results/bundles",
    });
    const failed = r!.steps.filter((s) => !s.passed).map((s) => `${s.name}: ${s.reason ?? s.detail}`);
    expect(failed).toEqual([]);
    expect(new Set(r!.steps.map((s) => s.probe).filter(Boolean))).toEqual(
      new Set(["ping", "tcp", "udp", "dns", "ssh", "ftp", "http", "scan"]),
    );
    expect(r!.steps.map((s) => s.observed)).toEqual(
      expect.arrayContaining(["ok", "timeout", "refused", "unreachable"]),
    );
    // Told from the firewall's trace (fwlab's trace table is inet: IPv6 packets too), not from
    // the client's silence.
    const dropped = r!.steps.find((s) => s.name === "tcp dropped")!;
    expect(dropped.detail).toMatch(/^dropped by fw filter FORWARD policy DROP/);
    const tracked = r!.steps.find((s) => s.name.startsWith("tcp, logged"))!;
    const line = tracked.evidence?.logs.find((l) => l.kind === "packet-log" && l.prefix === "fwd6-http");
    const fields = (line as { fields?: { src?: string; dst?: string } } | undefined)?.fields;
    expect(canonicalIpv6(fields?.src ?? "")).toBe(lab.address6("client"));
    expect(canonicalIpv6(fields?.dst ?? "")).toBe(lab.address6("web"));
    // NFLOG of an IPv6 flow: the SSH login's first packet, through ulogd.
    const ssh = r!.steps.find((s) => s.name.startsWith("ssh, NFLOG"))!;
    const nflog = ssh.evidence?.logs.find((l) => l.kind === "packet-log" && l.prefix === "fwd6-ssh") as
      | { source?: string; fields?: { src?: string; dpt?: number } }
      | undefined;
    expect(nflog?.source).toBe("NFLOG");
    expect(nflog?.fields?.src).toBe(lab.address6("client"));
    expect(nflog?.fields?.dpt).toBe(22);
  });

  it("loads an ip6tables-save file with the IPv4 ruleset; an error at its line leaves both previous ones active", async () => {
    await lab.loadRuleset("fw", OPEN_RULES, { ipv6: "test/fixtures/rulesets/forward6.rules" });
    const before = await ip6save();
    expect(before).toContain(":FORWARD DROP");
    expect(before).toContain("--icmpv6-type 128 -j ACCEPT");
    const err = await lab
      .loadRuleset("fw", "scenarios/seed-000/stateful.sh", {
        ipv6: "test/fixtures/rulesets/forward6-typo.rules",
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FwlabError);
    expect((err as FwlabError).message).toMatch(/forward6-typo\.rules line 7/);
    expect(await ip6save()).toBe(before);
    // The IPv4 half did not load either: still the open ruleset.
    const v4 = (await lab.exec("fw", ["iptables-nft-save"])).stdout;
    expect(v4).not.toMatch(/-A INPUT/);
    const six = await lab.exec("client", ["ping", "-c", "1", "-W", "2", lab.address6("web")]);
    expect(received(six.stdout)).toBe(1); // echo requests from lan pass
  });

  it("keeps the host out over IPv6: no address on its lab bridges, no answer to all-nodes", async () => {
    for (const line of labBridges(lab.name).split("\n").filter(Boolean)) {
      const dev = /^\d+: ([^:@\s]+)/.exec(line)![1]!;
      expect(execFileSync("ip", ["-6", "-o", "addr", "show", "dev", dev], { encoding: "utf8" })).toBe("");
    }
    const hostMacs = labBridges(lab.name)
      .split("\n")
      .flatMap((l) => /link\/ether (\S+)/.exec(l)?.[1] ?? []);
    // Every IPv6 node of the lan answers an all-nodes echo; the host must not be one of them.
    const r = await lab.exec("client", ["ping", "-6", "-c", "2", "-W", "1", "-I", "lan", "ff02::1"]);
    const from = [...r.stdout.matchAll(/from (\S+?)%?\w*: icmp_seq/g)].map((m) => m[1]!);
    expect(from.length).toBeGreaterThan(0);
    const neigh = (await lab.exec("client", ["ip", "-6", "neigh", "show", "dev", "lan"])).stdout;
    for (const mac of hostMacs) expect(neigh).not.toContain(mac);
  });
});
