import { describe, expect, it } from "vitest";
import type { ConntrackChangeEvent } from "../../src/evidence/events.ts";
import type { LabNode } from "../../src/lab/lab-node.ts";
import type { ExecResult } from "../../src/runtime/exec-result.ts";
import {
  noWayBack,
  type OnwardWayBack,
  onwardNoWayBack,
  type WayBack,
} from "../../src/scenarios/way-back.ts";
import { traceLine } from "../support/trace-line.ts";

// Whether a probe that got through heard nothing for want of a route back, asked of the
// target's kernel (a fake node here: `ip route get` fails for the lan's addresses).
const node = (name: string, address: string, firewall = false): LabNode => ({
  name,
  container: name,
  containerName: `l-${name}`,
  role: firewall ? "firewall" : "services",
  firewall,
  backend: "iptables-nft",
  image: "fwlab/services:latest",
  state: "running",
  host: "default",
  addresses: { wan: address },
  addresses6: {},
  created: 0,
  readyBy: 0,
});
const NODES = [node("fw", "198.51.100.1", true), node("inet", "198.51.100.10")];
const FLOW = { proto: "tcp", dst: "198.51.100.10", sport: 61001, dport: 80 } as const;
const sent = traceLine({ passed: "forwarded" }, { dst: "198.51.100.10", dport: 80 });
const asked: string[][] = [];
const exec =
  (n: string) =>
  async (argv: string[]): Promise<ExecResult> => {
    asked.push([n, ...argv]);
    const lan = argv.at(-1)!.startsWith("10.");
    return {
      exitCode: lan ? 2 : 0,
      stdout: "",
      stderr: lan ? "RTNETLINK answers: Network is unreachable\n" : "",
      durationMs: 1,
    };
  };
const way = (over: Partial<WayBack>) =>
  noWayBack({ trace: [sent], conntrack: [], flow: FLOW, to: "198.51.100.10", nodes: NODES, exec, ...over });
const masqueraded: ConntrackChangeEvent = {
  kind: "conntrack",
  lab: "l",
  node: "fw",
  type: "NEW",
  entry: {
    proto: "tcp",
    original: { src: "10.0.1.10", dst: "198.51.100.10", sport: 61001, dport: 80 },
    reply: { src: "198.51.100.10", dst: "198.51.100.1", sport: 80, dport: 61001 },
    assured: false,
    unreplied: true,
    nat: { snat: true, dnat: false },
  },
  time: 1,
};

describe("noWayBack", () => {
  it("says the target has no route back to the client it saw, when no firewall translated the source", async () => {
    expect(await way({})).toBe(
      "; inet has no route back to 10.0.1.10 (RTNETLINK answers: Network is unreachable): without a firewall translating the source on the way (SNAT, MASQUERADE), its answer has nowhere to go",
    );
    expect(asked.at(-1)).toEqual(["inet", "ip", "route", "get", "10.0.1.10"]);
  });

  it("says nothing when a firewall masqueraded the client, the target has a route, or is no lab host", async () => {
    const before = asked.length;
    expect(await way({ conntrack: [masqueraded] })).toBe("");
    expect(asked.length).toBe(before); // not even asked
    expect(
      await way({
        trace: [traceLine({ passed: "forwarded" }, { src: "198.51.100.99", dst: "198.51.100.10" })],
      }),
    ).toBe("");
    expect(
      await way({ to: "192.0.2.1", trace: [traceLine({ passed: "forwarded" }, { dst: "192.0.2.1" })] }),
    ).toBe("");
    expect(await way({ trace: [] })).toBe(""); // no firewall passed it on
  });
});

describe("onwardNoWayBack", () => {
  // A DNS server in the dmz forwards to extdns on the wan; fw passes its question on untracked
  // (NOTRACK), so untranslated: extdns has no route back to the dmz.
  const dmz = [
    ...NODES,
    { ...node("dns", "10.0.2.53"), addresses: { dmz: "10.0.2.53" } },
    node("extdns", "198.51.100.53"),
  ];
  const question = traceLine(
    { passed: "forwarded", packetId: "9" },
    { src: "10.0.2.53", dst: "198.51.100.53", proto: "udp", sport: 41234, dport: 53, flags: [] },
  );
  const onward = (over: Partial<OnwardWayBack>) =>
    onwardNoWayBack({
      others: [question],
      client: ["10.0.1.10"],
      conntrack: [],
      to: "10.0.2.53",
      nodes: dmz,
      exec,
      ...over,
    });

  it("says the server's question went out untranslated to a host with no route back", async () => {
    expect(await onward({})).toBe(
      "; meanwhile 10.0.2.53 asked another host, and fw passed that on with its source untranslated: UDP 10.0.2.53:41234 -> 198.51.100.53:53; extdns has no route back to 10.0.2.53 (RTNETLINK answers: Network is unreachable), so that answer has nowhere to go",
    );
  });

  it("says nothing when the question was translated, not passed on, or is the answer to the client", async () => {
    const snat: ConntrackChangeEvent = {
      ...masqueraded,
      entry: {
        ...masqueraded.entry,
        proto: "udp",
        original: { src: "10.0.2.53", dst: "198.51.100.53", sport: 41234, dport: 53 },
      },
    };
    expect(await onward({ conntrack: [snat] })).toBe("");
    expect(await onward({ others: [{ ...question, passed: undefined, verdict: "DROP" }] })).toBe("");
    expect(await onward({ client: ["198.51.100.53"] })).toBe("");
  });
});
