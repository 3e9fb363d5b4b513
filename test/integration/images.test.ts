import { execFileSync } from "node:child_process";
import { GenericContainer, Wait } from "testcontainers";
import { describe, expect, it } from "vitest";

// Each role image on its own, outside any lab: it reports ready and carries its tools.
describe("role images", () => {
  it("the firewall image has both iptables backends, nftables, conntrack, tcpdump, ulogd2 and sshd", async () => {
    await using fw = await new GenericContainer("fwlab/firewall:latest")
      .withAddedCapabilities("NET_ADMIN", "NET_RAW")
      .withWaitStrategy(Wait.forLogMessage("fwlab-ready"))
      .start();
    for (const argv of [
      ["iptables-nft", "-A", "INPUT", "-m", "conntrack", "--ctstate", "INVALID", "-j", "DROP"],
      [
        "iptables-legacy",
        "-t",
        "raw",
        "-A",
        "PREROUTING",
        "-p",
        "tcp",
        "--dport",
        "21",
        "-j",
        "CT",
        "--helper",
        "ftp",
      ],
      ["nft", "list", "ruleset"],
      ["conntrack", "-L"],
      ["tcpdump", "--version"],
      ["ulogd", "--version"],
      ["sh", "-c", "pgrep -x sshd"],
    ]) {
      const r = await fw.exec(argv);
      expect(r.exitCode, `${argv.join(" ")}: ${r.output}`).toBe(0);
    }
  });

  it("the client image has the probe tools", async () => {
    await using client = await new GenericContainer("fwlab/client:latest")
      .withAddedCapabilities("NET_ADMIN", "NET_RAW")
      .withWaitStrategy(Wait.forLogMessage("fwlab-ready"))
      .start();
    const r = await client.exec([
      "sh",
      "-c",
      "for t in ping dig ssh ftp lftp curl nc nmap hping3; do command -v $t >/dev/null || echo missing $t; done",
    ]);
    expect(r.output).toBe("");
  });

  it("the services image listens on the ports it is given, TCP and UDP", async () => {
    await using svc = await new GenericContainer("fwlab/services:latest")
      .withAddedCapabilities("NET_ADMIN")
      .withCommand(["tcp:3306", "udp:123", "tcp:6881-6883"])
      .withWaitStrategy(Wait.forLogMessage("fwlab-ready"))
      .start();
    const r = await svc.exec(["sh", "-c", "ss -lntu | awk 'NR>1 {print $1, $5}' | sort"]);
    expect(r.output).toContain("tcp 0.0.0.0:3306");
    expect(r.output).toContain("udp 0.0.0.0:123");
    expect(r.output).toContain("tcp 0.0.0.0:6883");
  });

  it("images are labelled with the hash of their inputs, so unchanged inputs skip a build", () => {
    const label = execFileSync(
      "docker",
      ["image", "inspect", "fwlab/web:latest", "--format", '{{ index .Config.Labels "fwlab.inputs" }}'],
      {
        encoding: "utf8",
      },
    ).trim();
    expect(label).toMatch(/^[0-9a-f]{16}$/);
  });
});

describe("the default lab file", () => {
  it("is accepted by plain docker-compose 1.29", () => {
    const out = execFileSync("docker-compose", ["-f", "docker-compose.yml", "config", "--services"], {
      encoding: "utf8",
    });
    expect(out.trim().split("\n").sort()).toEqual([
      "client",
      "dns",
      "extdns",
      "ftp",
      "fw",
      "inet",
      "ssh",
      "web",
    ]);
  });
});
