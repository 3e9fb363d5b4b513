import { execFileSync } from "node:child_process";
import { createSocket, type Socket } from "node:dgram";
import { readFileSync, writeFileSync } from "node:fs";
import { networkInterfaces } from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StartedLab } from "../../src/index.ts";
import { labBridges } from "./cli-helpers.ts";
import { sharedLab } from "./shared-lab.ts";

// Issue 12: the host never answers a lab node and never accepts anything from a lab bridge,
// whatever the bridge's sysctls (an ip_forward toggle resets them). The test only listens on
// the host (a bound socket sends no ICMP error back): the host sends nothing toward the lab.
let lab: StartedLab;
let listener: Socket;
const received: string[] = [];
let port = 0;
const FORWARD = "/proc/sys/net/ipv4/ip_forward";
const forwardBefore = readFileSync(FORWARD, "utf8").trim();

/** The host's own IPv4 addresses (not loopback). */
const hostAddresses = () =>
  Object.values(networkInterfaces())
    .flat()
    .filter((a) => a && a.family === "IPv4" && !a.internal)
    .map((a) => a!.address);

/** The MAC of the bridge the client's lan is on: where a frame to the host would go. */
const lanBridgeMac = (name: string) => {
  const dev = /^\d+: ([^:@\s]+)/.exec(
    labBridges(name)
      .split("\n")
      .find((l) => l.includes(":lan:")) ?? "",
  )?.[1];
  return /link\/ether (\S+)/.exec(
    execFileSync("ip", ["-o", "link", "show", dev!], { encoding: "utf8" }),
  )![1]!;
};

/**
 * From the client: a route to `addr` on its lan, then a datagram to the host's socket, and the
 * ARP replies the lan saw meanwhile (none may come from the host). With `mac`, the client needs
 * no ARP: the frame goes straight to the bridge.
 */
async function probeHost(addr: string, mac?: string): Promise<{ arpReplies: string }> {
  await lab.exec("client", ["sh", "-c", `ip route replace ${addr}/32 dev lan; ip neigh flush dev lan`]);
  if (mac)
    await lab.exec("client", [
      "ip",
      "neigh",
      "replace",
      addr,
      "lladdr",
      mac,
      "dev",
      "lan",
      "nud",
      "permanent",
    ]);
  const capture = await lab.execStream("client", [
    "tcpdump",
    "-i",
    "lan",
    "-n",
    "-l",
    "arp and arp[6:2] == 2",
  ]);
  let replies = "";
  capture.stdout.on("data", (b: Buffer) => {
    replies += b.toString();
  });
  await new Promise((r) => setTimeout(r, 400));
  await lab.exec("client", [
    "sh",
    "-c",
    `for i in 1 2 3; do echo fwlab-isolation | nc -u -w 1 ${addr} ${port}; done; true`,
  ]);
  await new Promise((r) => setTimeout(r, 500));
  await capture.stop();
  await lab.exec("client", [
    "sh",
    "-c",
    `ip neigh del ${addr} dev lan 2>/dev/null; ip route del ${addr}/32 dev lan; true`,
  ]);
  return { arpReplies: replies.trim() };
}

beforeAll(async () => {
  lab = await sharedLab();
  listener = createSocket("udp4");
  listener.on("message", (m, r) => received.push(`${r.address}: ${m}`));
  await new Promise<void>((r) => listener.bind(0, "0.0.0.0", r));
  port = listener.address().port;
});
afterAll(async () => {
  listener?.close();
  writeFileSync(FORWARD, forwardBefore);
});

describe("the host and a lab's bridges", () => {
  it("has addresses a lab node could aim at", () => {
    expect(hostAddresses().length).toBeGreaterThan(0);
  });

  for (const phase of ["as the lab was started", "after ip_forward went 0 then 1 on the host"]) {
    it(`answers no ARP for its own addresses and takes in no datagram from a lab, ${phase}`, async () => {
      if (phase.startsWith("after")) {
        writeFileSync(FORWARD, "0");
        writeFileSync(FORWARD, "1");
      }
      const mac = lanBridgeMac(lab.name);
      for (const addr of hostAddresses()) {
        const viaArp = await probeHost(addr);
        expect(viaArp.arpReplies, `ARP reply for ${addr}`).toBe("");
        await probeHost(addr, mac); // straight to the bridge's MAC: the host must still drop it
      }
      expect(received).toEqual([]);
    });
  }

  it("keeps fwlab's host tables while a lab runs: input and output of lab bridges dropped, ARP too", () => {
    const inet = execFileSync("nft", ["list", "table", "inet", "fwlab_host"], { encoding: "utf8" });
    expect(inet).toMatch(/iifname "fwb-\*" drop/);
    expect(inet).toMatch(/oifname "fwb-\*" drop/);
    expect(execFileSync("nft", ["list", "table", "arp", "fwlab_host"], { encoding: "utf8" })).toMatch(
      /iifname "fwb-\*" drop/,
    );
    const user = execFileSync("iptables", ["-S", "DOCKER-USER"], { encoding: "utf8" });
    expect(user).toMatch(new RegExp(`-i fwb-\\w+ -m comment --comment "?fwlab:${lab.name}"? -j DROP`));
  });

  it("keeps a lab's flows out of the host's conntrack table (a lab's burst cannot fill it)", async () => {
    const hostEntries = () =>
      execFileSync("conntrack", ["-L", "-p", "udp", "--dport", "9"], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"],
      })
        .split("\n")
        .filter((l) => l.includes("src=10.0.1.10 ")).length;
    // 50 UDP flows from the client through fw: tracked by fw (its ruleset's state rules) only.
    await lab.exec("client", ["hping3", "--udp", "-p", "9", "-c", "50", "-i", "u2000", "-q", "10.0.2.80"]);
    expect(hostEntries()).toBe(0);
    expect(execFileSync("nft", ["list", "table", "inet", "fwlab_host"], { encoding: "utf8" })).toMatch(
      /iifname "fwb-\*" notrack/,
    );
  });
});
