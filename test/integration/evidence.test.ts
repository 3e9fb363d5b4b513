import { readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { capturePackets } from "../../src/evidence/capture-packets.ts";
import { watchConntrack } from "../../src/evidence/conntrack-source.ts";
import { counterDeltas, readCounters } from "../../src/evidence/counters.ts";
import { EventBus } from "../../src/evidence/event-bus.ts";
import type {
  ConntrackChangeEvent,
  EvidenceEvent,
  PacketLogEvent,
  TraceEvent,
} from "../../src/evidence/events.ts";
import { watchKernelLog } from "../../src/evidence/kernel-log-source.ts";
import { watchNflog } from "../../src/evidence/nflog-source.ts";
import { tracePackets } from "../../src/evidence/trace-packets.ts";
import { connectEngine, removeLab, type StartedLab, startLab } from "../../src/index.ts";
import { recorder } from "./events.ts";
import { OPEN_RULES, received, sharedLab } from "./shared-lab.ts";

const isLog =
  (source: "LOG" | "NFLOG") =>
  (e: EvidenceEvent): e is PacketLogEvent =>
    e.kind === "packet-log" && e.source === source;

describe("evidence from real packets", () => {
  let lab: StartedLab;
  beforeAll(async () => {
    lab = await sharedLab();
    await lab.loadRuleset("fw", "test/fixtures/rulesets/evidence.sh");
  });
  afterAll(() => lab.loadRuleset("fw", OPEN_RULES));

  it("LOG and NFLOG: one parsed line per packet, on fw of this lab only, even beside a lab with the same rules", async () => {
    const engine = await connectEngine();
    await using side = await startLab("test/fixtures/labs/mini.yml", { name: "side", engine });
    await side.loadRuleset("fw", "test/fixtures/rulesets/evidence.sh");
    const bus = new EventBus();
    const rec = recorder(bus);
    const watches = [
      await watchKernelLog(engine, bus),
      await watchNflog(lab, "fw", bus),
      await watchNflog(side, "fw", bus),
    ];
    try {
      expect(
        received((await lab.exec("client", ["ping", "-c", "3", "-i", "0.2", "-W", "1", "10.0.2.80"])).stdout),
      ).toBe(3);
      expect(
        received(
          (await side.exec("client", ["ping", "-c", "2", "-i", "0.2", "-W", "1", "10.50.2.80"])).stdout,
        ),
      ).toBe(2);
      await rec.until((e) => e.kind === "packet-log", 10);
    } finally {
      await Promise.all(watches.map((w) => w.stop()));
    }
    for (const source of ["LOG", "NFLOG"] as const) {
      const mine = rec.of(isLog(source)).filter((e) => e.lab === lab.name);
      const theirs = rec.of(isLog(source)).filter((e) => e.lab === "side");
      expect(mine, source).toHaveLength(3);
      expect(theirs, source).toHaveLength(2);
      for (const e of mine) {
        expect(e.node).toBe("fw");
        expect(e.prefix).toBe(source === "LOG" ? "fwd-echo" : "nf-echo");
        expect(e.fields).toMatchObject({
          in: "lan",
          out: "dmz",
          src: "10.0.1.10",
          dst: "10.0.2.80",
          proto: "ICMP",
          icmpType: 8,
          icmpCode: 0,
          ttl: 63,
          len: 84,
        });
        if (source === "NFLOG") expect(e.group).toBe(7);
      }
      expect(new Set(mine.map((e) => e.fields.id)).size).toBe(3);
      for (const e of theirs) expect(e.fields).toMatchObject({ src: "10.50.1.10", dst: "10.50.2.80" });
      for (const e of theirs) expect(e.node).toBe("fw");
    }
    const logMac = rec.of(isLog("LOG")).find((e) => e.lab === lab.name)!.fields.mac!;
    expect(logMac.startsWith("02:42:0a:00:01:01:02:42:0a:00:01:0a")).toBe(true); // to fw's lan, from client
    rec.close();
    await removeLab(engine, "side");
  });

  it("an SSH login shows in fw's conntrack stream as NEW then ESTABLISHED, with both tuples", async () => {
    const bus = new EventBus();
    const rec = recorder(bus);
    const watch = await watchConntrack(lab, "fw", bus);
    try {
      const ssh = await lab.exec("client", [
        "ssh",
        "-o",
        "BatchMode=yes",
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "student@10.0.2.22",
        "echo",
        "logged-in",
      ]);
      expect(ssh.stdout.trim(), ssh.stderr).toBe("logged-in");
      await rec.until(
        (e) => e.kind === "conntrack" && e.entry.original.dport === 22 && e.type === "DESTROY",
        0,
        300,
      );
    } finally {
      await watch.stop();
    }
    const flow = rec
      .of((e): e is ConntrackChangeEvent => e.kind === "conntrack")
      .filter(
        (e) =>
          e.entry.proto === "tcp" && e.entry.original.dport === 22 && e.entry.original.src === "10.0.1.10",
      );
    expect(flow[0]).toMatchObject({ type: "NEW", entry: { state: "SYN_SENT", unreplied: true } });
    expect(flow[0]!.entry.original).toMatchObject({ src: "10.0.1.10", dst: "10.0.2.22", dport: 22 });
    expect(flow[0]!.entry.reply).toMatchObject({
      src: "10.0.2.22",
      dst: "10.0.1.10",
      sport: 22,
      dport: flow[0]!.entry.original.sport,
    });
    const established = flow.find((e) => e.entry.state === "ESTABLISHED");
    expect(established?.type).toBe("UPDATE");
    expect(flow.indexOf(established!)).toBeGreaterThan(0);
    expect(new Set(flow.map((e) => e.entry.ctId)).size).toBe(1);
  });

  it("a MASQUERADEd connection shows the translated reply tuple, and the far side saw fw's address", async () => {
    const bus = new EventBus();
    const rec = recorder(bus);
    const watch = await watchConntrack(lab, "fw", bus);
    let banner: string;
    try {
      banner = (await lab.exec("client", ["sh", "-c", "echo | nc -w 1 198.51.100.10 25"])).stdout;
      await rec.until((e) => e.kind === "conntrack" && e.entry.original.dport === 25, 1);
    } finally {
      await watch.stop();
    }
    expect(banner).toMatch(/^220 inet ESMTP fwlab \(you are 198\.51\.100\.1:\d+\)/);
    const nw = rec
      .of((e): e is ConntrackChangeEvent => e.kind === "conntrack")
      .find((e) => e.type === "NEW" && e.entry.original.dport === 25)!;
    expect(nw.entry.original).toMatchObject({ src: "10.0.1.10", dst: "198.51.100.10" });
    expect(nw.entry.reply).toMatchObject({ src: "198.51.100.10", dst: "198.51.100.1" });
    expect(nw.entry.nat).toEqual({ snat: true, dnat: false });
  });

  it("the counter of the matching rule rises by the number of packets sent", async () => {
    await lab.exec("fw", ["iptables", "-Z"]);
    const before = await readCounters(lab, "fw");
    await lab.exec("client", ["ping", "-c", "4", "-i", "0.2", "-W", "1", "10.0.2.80"]);
    const deltas = counterDeltas(before, await readCounters(lab, "fw"));
    const logRule = deltas.find((d) => d.chain === "FORWARD" && d.spec.includes("fwd-echo"))!;
    expect(logRule).toMatchObject({ table: "filter", rule: 1, packets: 4, bytes: 4 * 84 });
    expect(deltas.find((d) => d.chain === "FORWARD" && d.rule === undefined)!.packets).toBe(8); // policy: 4 requests, 4 replies
  });

  it("a trace of a dropped TCP SYN ends in the rule that dropped it, or the policy", async () => {
    for (const [rules, last] of [
      ["test/fixtures/rulesets/drop-web.sh", { table: "filter", chain: "FORWARD", rule: 2, verdict: "DROP" }],
      [
        "test/fixtures/rulesets/forward-drop.sh",
        { table: "filter", chain: "FORWARD", rule: undefined, verdict: "DROP" },
      ],
    ] as const) {
      await lab.loadRuleset("fw", rules);
      const bus = new EventBus();
      const rec = recorder(bus);
      const trace = await tracePackets(lab, "fw", "-p tcp --dport 80 -s 10.0.1.10", bus);
      try {
        await lab.exec("client", ["nc", "-z", "-w", "1", "10.0.2.80", "80"]);
        await rec.until((e) => e.kind === "trace" && e.verdict === "DROP", 1);
      } finally {
        await trace.stop();
      }
      const steps = rec.of((e): e is TraceEvent => e.kind === "trace");
      const first = steps[0]!.packetId;
      const path = steps.filter((s) => s.packetId === first);
      expect(path.at(-1), rules).toMatchObject(last);
      expect(path[0]).toMatchObject({ table: "raw", chain: "PREROUTING" });
      expect((await lab.exec("fw", ["iptables-save", "-t", "raw"])).stdout).not.toContain("fwlab-trace");
    }
    await lab.loadRuleset("fw", "test/fixtures/rulesets/evidence.sh");
  });

  it("a capture holds the step's packets and reads as pcap", async () => {
    const file = join(tmpdir(), `fwlab-test-${process.pid}.pcap`);
    const cap = await capturePackets(lab, "fw", "lan", file, ["icmp"]);
    await lab.exec("client", ["ping", "-c", "2", "-i", "0.2", "-W", "1", "10.0.2.80"]);
    const r = await cap.stop();
    expect(r.packets).toBe(4);
    const pcap = readFileSync(file);
    expect(pcap.readUInt32LE(0)).toBe(0xa1b2c3d4); // pcap magic
    expect(pcap.readUInt32LE(20)).toBe(1); // Ethernet
    expect(countPcapRecords(pcap)).toBe(4);
    rmSync(file);
  });

  it("a conntrack event overflow is reported as a loss, and the table is re-read", async () => {
    const bus = new EventBus();
    const rec = recorder(bus);
    // A small socket buffer, a listener that stalls (as a slow consumer would), and a burst of
    // thousands of short flows: the kernel must drop events while the listener is stalled.
    const watch = await watchConntrack(lab, "fw", bus, { bufferBytes: 8192 });
    try {
      // The reader runs in fw (images/common/usr/local/lib/fwlab/ctevents).
      await lab.exec("fw", ["pkill", "-STOP", "-f", "ctevents 8192"]);
      await lab.exec("client", ["hping3", "--udp", "-p", "9", "-c", "3000", "-i", "u50", "-q", "10.0.2.80"]);
      await lab.exec("fw", ["pkill", "-CONT", "-f", "ctevents 8192"]);
      await rec.until((e) => e.kind === "conntrack-table", 1, 5000);
    } finally {
      await watch.stop();
      // The 3000 flows would expire together 30 s from now, a burst of events for whatever
      // listens then (a later test): gone now instead.
      await lab.exec("fw", ["conntrack", "-D", "-p", "udp", "--orig-port-dst", "9"]);
    }
    const loss = rec.events.find((e) => e.kind === "loss" && e.source === "conntrack");
    expect(loss).toBeDefined();
    const table = rec.events.find((e) => e.kind === "conntrack-table");
    expect(table).toMatchObject({ reason: "resync", node: "fw" });
    expect((table as { count: number }).count).toBeGreaterThan(1000);
    const seen = rec.events.filter(
      (e) => e.kind === "conntrack" && e.type === "NEW" && e.entry.original.dport === 9,
    ).length;
    expect(seen).toBeLessThan(3000); // events really were lost, and said so: exactly the NEW
    // events that did not come (the 3000 flows all last beyond the test), never fewer.
    expect((loss as { reason: string }).reason).toContain(` ${3000 - seen} NEW and `);
    expect((loss as { lost?: number }).lost).toBeGreaterThanOrEqual(3000 - seen);
  });
});

function countPcapRecords(pcap: Buffer): number {
  let n = 0;
  for (let o = 24; o + 16 <= pcap.length; n++) o += 16 + pcap.readUInt32LE(o + 8);
  return n;
}
