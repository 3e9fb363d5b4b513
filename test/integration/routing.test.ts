import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findChain, parseSave, type StartedLab } from "../../src/index.ts";
import { OPEN_RULES, received, sharedLab } from "./shared-lab.ts";

describe("the default lab routes through fw", () => {
  let lab: StartedLab;
  beforeAll(async () => {
    lab = await sharedLab();
    await lab.loadRuleset("fw", "scenarios/demo/forward-counting.rules");
  });
  afterAll(() => lab.loadRuleset("fw", OPEN_RULES));

  it("every node is up with the addresses of the lab file", () => {
    const byName = Object.fromEntries(lab.nodes.map((n) => [n.name, n]));
    expect(Object.keys(byName).sort()).toEqual([
      "client",
      "dns",
      "extdns",
      "ftp",
      "fw",
      "inet",
      "ssh",
      "web",
    ]);
    expect(byName.fw!.addresses).toEqual({ lan: "10.0.1.1", dmz: "10.0.2.1", wan: "198.51.100.1" });
    expect(byName.client!.addresses).toEqual({ lan: "10.0.1.10" });
  });

  it("names interfaces after their networks and routes lan and dmz through fw", async () => {
    const links = await lab.exec("fw", ["ip", "-o", "-4", "addr", "show", "scope", "global"]);
    expect(links.stdout).toMatch(/\blan\s+inet 10\.0\.1\.1\/24/);
    expect(links.stdout).toMatch(/\bwan\s+inet 198\.51\.100\.1\/24/);
    const route = await lab.exec("client", ["ip", "route", "get", "10.0.2.80"]);
    expect(route.stdout).toContain("via 10.0.1.1 dev lan");
    const trace = await lab.exec("client", ["traceroute", "-I", "-n", "-q1", "-w1", "10.0.2.80"]);
    expect(trace.stdout).toMatch(/^\s*1\s+10\.0\.1\.1\b/m);
    expect(trace.stdout).toMatch(/^\s*2\s+10\.0\.2\.80\b/m);
  });

  it("a ping from client to web crosses fw's FORWARD chain, counted packet by packet", async () => {
    await lab.exec("fw", ["iptables", "-Z"]);
    const ping = await lab.exec("client", ["ping", "-c", "3", "-i", "0.2", "-W", "1", "10.0.2.80"]);
    expect(received(ping.stdout)).toBe(3);
    const forward = findChain(
      parseSave((await lab.exec("fw", ["fwlab-ruleset", "save"])).stdout),
      "filter",
      "FORWARD",
    )!;
    const byComment = Object.fromEntries(forward.rules.map((r) => [r.comment, r.packets]));
    // The first echo request is NEW; the two later ones and the three replies are ESTABLISHED.
    expect(byComment["lan ping dmz"]).toBe(1);
    expect(byComment.replies).toBe(5);
    expect(forward.packets).toBe(0);
  });

  it("a TCP connection from client reaches web, which sees the client's own address", async () => {
    const r = await lab.exec("client", ["curl", "-s", "-m", "2", "http://web.lab/whoami"]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/^10\.0\.1\.10 \d+/);
  });

  it("names resolve through the lab's DNS server, not Docker's", async () => {
    const conf = await lab.exec("client", ["cat", "/etc/resolv.conf"]);
    expect(conf.stdout).toContain("nameserver 10.0.2.53");
    expect(conf.stdout).not.toContain("127.0.0.11");
    const dig = await lab.exec("client", ["dig", "+short", "+time=1", "+tries=1", "ssh.lab"]);
    expect(dig.stdout.trim()).toBe("10.0.2.22");
    const ext = await lab.exec("fw", [
      "dig",
      "+short",
      "+time=1",
      "+tries=1",
      "@198.51.100.53",
      "www.example.com",
    ]);
    expect(ext.stdout.trim()).toBe("198.51.100.10");
  });

  it("traffic the ruleset does not allow is dropped at fw's FORWARD policy", async () => {
    await lab.exec("fw", ["iptables", "-Z"]);
    const r = await lab.exec("client", ["curl", "-s", "-m", "1", "http://198.51.100.10/"]);
    expect(r.exitCode).toBe(28); // curl: timeout
    const forward = findChain(
      parseSave((await lab.exec("fw", ["fwlab-ruleset", "save"])).stdout),
      "filter",
      "FORWARD",
    )!;
    expect(forward.packets).toBeGreaterThanOrEqual(1);
  });
});
