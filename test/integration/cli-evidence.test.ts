import { readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StartedLab } from "../../src/index.ts";
import { fwlab, spawnFwlab } from "./cli-helpers.ts";
import { OPEN_RULES, sharedLab } from "./shared-lab.ts";

describe("fwlab evidence commands", () => {
  let lab: StartedLab;
  beforeAll(async () => {
    lab = await sharedLab();
    await lab.loadRuleset("fw", "test/fixtures/rulesets/evidence.sh");
  });
  afterAll(() => lab.loadRuleset("fw", OPEN_RULES));

  it("logs -f prints each LOG and NFLOG line with lab, node, prefix and packet", async () => {
    const child = spawnFwlab("logs", "-f", "--name", lab.name, "--seconds", "3", "--json");
    let out = "";
    child.stdout.on("data", (b: Buffer) => {
      out += b;
    });
    await new Promise<void>((resolve) => {
      child.stderr.on("data", (b: Buffer) => String(b).includes("following") && resolve());
    });
    await lab.exec("client", ["ping", "-c", "2", "-i", "0.2", "-W", "1", "10.0.2.80"]);
    await new Promise((r) => child.once("exit", r));
    const events = out
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    const logs = events.filter((e) => e.kind === "packet-log");
    expect(logs.filter((e) => e.source === "LOG" && e.prefix === "fwd-echo")).toHaveLength(2);
    expect(logs.filter((e) => e.source === "NFLOG" && e.prefix === "nf-echo" && e.group === 7)).toHaveLength(
      2,
    );
    for (const e of logs)
      expect(e).toMatchObject({ lab: lab.name, node: "fw", fields: { src: "10.0.1.10", dst: "10.0.2.80" } });
  });

  it("conntrack shows the table with the entry count and the memory estimate", async () => {
    await lab.exec("client", ["sh", "-c", "echo | nc -w 1 198.51.100.10 25"]);
    const r = await fwlab("conntrack", "fw", "--name", lab.name, "--sort", "proto");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/fwtest\/fw: \d+ entries, ~[\d.]+ KiB \(\d+ x \d+ B per entry on this kernel\)/);
    expect(r.stdout).toMatch(/198\.51\.100\.10:25 .* SNAT/);
    const json = JSON.parse((await fwlab("conntrack", "fw", "--name", lab.name, "--json")).stdout);
    expect(json.count).toBeGreaterThan(0);
    expect(json.memoryBytes).toBe(json.count * json.entryBytes);
  });

  it("capture writes a pcap of the node's interface", async () => {
    const file = join(tmpdir(), `fwlab-cli-${process.pid}.pcap`);
    const child = spawnFwlab("capture", "fw", "lan", "--name", lab.name, "--seconds", "2", "-o", file);
    await new Promise<void>((resolve) => {
      child.stderr.on("data", (b: Buffer) => String(b).includes("capturing") && resolve());
    });
    await lab.exec("client", ["ping", "-c", "1", "-W", "1", "10.0.2.80"]);
    await new Promise((r) => child.once("exit", r));
    const pcap = readFileSync(file);
    expect(pcap.readUInt32LE(0)).toBe(0xa1b2c3d4);
    expect(pcap.length).toBeGreaterThan(24 + 2 * (16 + 98) - 1);
    rmSync(file);
  });

  it("counters reads a node's rule counters in one engine call, an nft node's too", async () => {
    await lab.exec("client", ["ping", "-c", "1", "-W", "1", "10.0.2.80"]);
    const r = await fwlab("counters", "fw", "--name", lab.name, "--json");
    expect(r.code, r.stderr).toBe(0);
    const echo = (
      JSON.parse(r.stdout) as { chain: string; rule?: number; spec: string; packets: number }[]
    ).find((d) => d.chain === "FORWARD" && d.rule === 1);
    expect(echo?.spec).toContain("fwd-echo");
    expect(echo?.packets).toBeGreaterThanOrEqual(1);
    await lab.loadRuleset("fw", "test/fixtures/rulesets/forward-web.nft");
    try {
      await lab.exec("client", ["curl", "-s", "-o", "/dev/null", "-m", "2", "http://10.0.2.80/"]);
      const nft = await fwlab("counters", "fw", "--name", lab.name, "--json");
      expect(nft.code, nft.stderr).toBe(0);
      const rules = JSON.parse(nft.stdout) as {
        table: string;
        chain: string;
        rule?: number;
        packets: number;
      }[];
      // The rule with a `counter` statement counted the connection's first packet.
      expect(
        rules.find((d) => d.table === "fwlab_test" && d.chain === "forward" && d.rule === 2)?.packets,
      ).toBe(1);
    } finally {
      await lab.loadRuleset("fw", "test/fixtures/rulesets/evidence.sh");
    }
  });

  it("trace rejects a match that is not a match, with exit 2", async () => {
    const r = await fwlab("trace", "fw", "--name", lab.name, "--match", "-j ACCEPT", "--seconds", "1");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("match options only");
  });

  it("trace --explain walks a port-forwarded packet hook by hook: the DNAT, the rules, its state, its fate", async () => {
    await lab.loadRuleset("fw", "scenarios/seed-003/port-forward.sh");
    const child = spawnFwlab(
      "trace",
      "fw",
      "--name",
      lab.name,
      "--match",
      "-p tcp --dport 8080 --syn",
      "--seconds",
      "4",
      "--explain",
    );
    let out = "";
    child.stdout.on("data", (b: Buffer) => {
      out += b;
    });
    await new Promise<void>((resolve) => {
      child.stderr.on("data", (b: Buffer) => String(b).includes("tracing") && resolve());
    });
    const http = await lab.exec("inet", [
      "timeout",
      "3",
      "bash",
      "-c",
      "exec 3<>/dev/tcp/198.51.100.1/8080 && printf 'GET /whoami HTTP/1.0\\r\\n\\r\\n' >&3 && head -1 <&3",
    ]);
    expect(http.stdout).toContain("200");
    await new Promise((r) => child.once("exit", r));
    // One walk: the SYN from the internet, port-forwarded to web.
    expect(out).toMatch(
      /^fwtest\/fw packet \w+: TCP 198\.51\.100\.10:\d+ -> 198\.51\.100\.1:8080 \[SYN\] in wan$/m,
    );
    expect([...out.matchAll(/^ {2}([A-Z]+)$/gm)].map((m) => m[1])).toEqual([
      "PREROUTING",
      "FORWARD",
      "POSTROUTING",
    ]);
    expect(out).toContain("-- routing decision: for another host -> FORWARD");
    expect(out).toMatch(
      /nat PREROUTING rule 1 +ACCEPT +-A PREROUTING .*--dport 8080 -j DNAT --to-destination 10\.0\.2\.80:80 +\[ct new\]\n +NAT: dst 198\.51\.100\.1:8080 -> 10\.0\.2\.80:80/,
    );
    expect(out).toMatch(/filter FORWARD rule 2 +JUMP +-A FORWARD -i wan -j wan_in/);
    expect(out).toMatch(
      /filter wan_in rule 1 +ACCEPT +-A wan_in -d 10\.0\.2\.80\/32 -p tcp -m tcp --dport 80 -j ACCEPT/,
    );
    expect(out).toContain("=> ACCEPTED (hooks: PREROUTING -> FORWARD -> POSTROUTING)");
  });
});
