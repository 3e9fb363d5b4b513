import { describe, expect, it } from "vitest";
import type { TraceEvent } from "../../src/evidence/events.ts";
import type { ProbeFlow } from "../../src/probes/probe-agent.ts";
import { type FailedProbe, probeFailureReason } from "../../src/scenarios/failure-reason.ts";
import type { WatchedFlow } from "../../src/scenarios/flow-verdicts.ts";
import { movedCounter } from "../support/moved-counter.ts";
import { traceLine } from "../support/trace-line.ts";

// The one-line reason of a failed probe step, from its verdict, the firewalls' counters and
// their trace of the probe's own packets.
const CLIENT = "10.0.1.10";
const line = traceLine;
const forwarded = line({ passed: "forwarded", ruleText: "forwarded" });
const delivered = line({ passed: "delivered", ruleText: "delivered" }, { dst: "10.0.1.1" });
const counter = (chain: string, spec: string, rule?: number) => movedCounter(chain, rule, spec);
/** A probe's flow from the client, as the runner watches it. */
const flow = (f: ProbeFlow, src = [CLIENT]): WatchedFlow => ({ lab: "l", fromNode: "client", src, ...f });
const failed = (over: Partial<FailedProbe>): string =>
  probeFailureReason({
    expect: "ok",
    verdict: "timeout",
    detail: "",
    described: `TCP ${CLIENT}:61001 -> 10.0.2.22:22`,
    first: { what: "verdict ok", ok: false, detail: "" },
    probeCheckFailed: false,
    alongside: 0,
    counters: {},
    trace: [],
    traced: [],
    to: "10.0.2.22",
    from: [CLIENT],
    flows: [flow({ proto: "tcp", dst: "10.0.2.22", sport: 61001, dport: 22 })],
    ...over,
  });

describe("probeFailureReason", () => {
  it("names the rule that dropped the probe's packet, from the counters, when a firewall's trace shows it stopped", () => {
    const dropped = line({ verdict: "DROP", ruleText: "policy DROP" });
    expect(failed({ trace: [dropped], counters: { fw: [counter("FORWARD", "policy DROP")] } })).toBe(
      "expected ok, observed timeout: TCP 10.0.1.10:61001 -> 10.0.2.22:22 dropped by fw filter FORWARD policy DROP",
    );
    // Beside other steps the counters are shared: the trace of the probe's own packets names it.
    expect(failed({ trace: [dropped], alongside: 2 })).toMatch(
      /22:22 dropped by fw filter FORWARD policy DROP$/,
    );
    // With no trace of a rule (the legacy backend) nothing is named from shared counters.
    expect(failed({ alongside: 2, counters: { fw: [counter("FORWARD", "policy DROP")] } })).toMatch(
      /22:22 \(ran beside 2 other steps\)$/,
    );
  });

  it("names a rule nft keeps no count of, from the trace: OpenWrt fw4's jumps, vmaps and rejects", () => {
    // fw4: input jumps to input_wan, which jumps to reject_from_wan (counted), which jumps to
    // handle_reject (not counted): the counters end at the jump.
    const wan = { packetId: "7", src: "198.51.100.10", dst: "198.51.100.1", sport: 61020, dport: 22 };
    const at = (chain: string, over: Partial<TraceEvent>) =>
      line({ table: "fw4", chain, hook: "INPUT", packetId: "7", verdict: "CONTINUE", ...over }, wan);
    const trace = [
      at("input", {
        rule: 3,
        ruleText: 'iifname "wan" jump input_wan comment "!fw4: Handle wan input"',
        verdict: "JUMP",
      }),
      at("input_wan", { rule: 5, ruleText: "jump reject_from_wan", verdict: "JUMP" }),
      at("reject_from_wan", {
        rule: 1,
        ruleText: 'iifname "wan" counter packets 1 bytes 60 jump handle_reject',
        verdict: "JUMP",
      }),
      at("handle_reject", {
        rule: 1,
        ruleText: 'meta l4proto tcp reject with tcp reset comment "!fw4: Reject TCP traffic"',
        verdict: "DROP",
      }),
    ];
    const reason = failed({
      verdict: "refused",
      to: "198.51.100.1",
      described: "TCP 198.51.100.10:61020 -> 198.51.100.1:22",
      trace,
      alongside: 3,
    });
    expect(reason).toBe(
      'expected ok, observed refused: TCP 198.51.100.10:61020 -> 198.51.100.1:22 rejected by fw fw4 handle_reject rule 1 ("!fw4: Reject TCP traffic")',
    );
  });

  it("a packet queued to a program (an IPS's NFQUEUE) and never given back", () => {
    const queued = line({
      rule: 2,
      verdict: "QUEUE",
      ruleText: "-A FORWARD -p tcp -j NFQUEUE --queue-num 0",
    });
    expect(failed({ trace: [queued], alongside: 2 })).toMatch(
      /22:22 queued by fw filter FORWARD rule 2 to a program, which did not give it back \(a queue no program reads drops what it gets, unless the rule says bypass\)$/,
    );
    // Given back (a later event of the same packet): not what stopped it.
    const back = line({ rule: 3, verdict: "CONTINUE", ruleText: "-A FORWARD -j LOG" });
    expect(failed({ trace: [queued, back], alongside: 2 })).toMatch(/\(ran beside 2 other steps\)$/);
  });

  it("a probe that got through: the last accept of its first packet at a filter hook, on each firewall it crossed", () => {
    const fw4 = [
      line({
        table: "fw4",
        chain: "dstnat",
        hook: "PREROUTING",
        rule: 1,
        ruleText: "dnat ip to 10.0.2.80:80",
      }),
      line({ table: "fw4", chain: "mangle_forward", hook: "FORWARD", ruleText: "policy ACCEPT" }),
      line({
        table: "fw4",
        chain: "forward",
        hook: "FORWARD",
        rule: 1,
        ruleText: "ct state vmap { established : accept }",
        verdict: "CONTINUE",
      }),
      line({
        table: "fw4",
        chain: "accept_to_wan",
        hook: "FORWARD",
        rule: 2,
        ruleText: 'oifname "wan" counter accept comment "wan"',
      }),
      forwarded,
      // A later packet of the flow (the client's ACK) is not what was let in.
      line(
        { table: "fw4", chain: "forward", hook: "FORWARD", rule: 1, packetId: "3", start: true },
        { packetId: "3", flags: ["ACK"] },
      ),
    ];
    // iptables' nat INPUT comes after filter INPUT: it filters nothing.
    const second = [
      line({ node: "fw2", hook: "FORWARD", ruleText: "policy ACCEPT" }),
      line({ node: "fw2", hook: "FORWARD", table: "nat", ruleText: "policy ACCEPT" }),
    ];
    expect(failed({ expect: "timeout", verdict: "ok", trace: [...fw4, ...second], alongside: 1 })).toMatch(
      /22:22 accepted by fw fw4 accept_to_wan rule 2 \("wan"\), then by fw2 filter FORWARD policy ACCEPT$/,
    );
  });

  it("a reset from a server behind the firewall: the packet passed, the rule that let it, and who answered", () => {
    const counters = {
      fw: [counter("FORWARD", "-p tcp -m tcp --dport 22 -j ACCEPT", 4), counter("FORWARD", "-j DROP", 9)],
    };
    expect(failed({ verdict: "refused", trace: [forwarded], counters })).toBe(
      "expected ok, observed refused: TCP 10.0.1.10:61001 -> 10.0.2.22:22 passed through fw, accepted by fw filter FORWARD rule 4; " +
        "no firewall refused it: 10.0.2.22 answered with a reset itself (nothing listens on tcp/22 there, or its own rules refuse it)",
    );
  });

  it("a probe of several connections is explained by its last, the one that failed (FTP's data connection)", () => {
    const wan = { src: "198.51.100.10", dst: "198.51.100.1" };
    const control = line({ passed: "forwarded", ruleText: "forwarded" }, { ...wan, sport: 63008, dport: 21 });
    const data = [
      line(
        { hook: "INPUT", chain: "INPUT", ruleText: "policy ACCEPT", packetId: "2" },
        { ...wan, packetId: "2", sport: 63009, dport: 30007 },
      ),
      line(
        { passed: "delivered", ruleText: "delivered", packetId: "2" },
        { ...wan, packetId: "2", sport: 63009, dport: 30007 },
      ),
    ];
    expect(
      failed({
        verdict: "refused",
        described: "FTP passive -> 198.51.100.1:21",
        to: "198.51.100.1",
        from: ["198.51.100.10"],
        trace: [control, ...data],
        flows: [
          flow({ proto: "tcp", dst: "198.51.100.1", sport: 63008, dport: 21 }, ["198.51.100.10"]),
          flow({ proto: "tcp", dst: "198.51.100.1", sport: 63009, dport: 30007 }, ["198.51.100.10"]),
        ],
      }),
    ).toBe(
      "expected ok, observed refused: FTP passive -> 198.51.100.1:21, and its connection to 198.51.100.1:30007 went in to fw itself, " +
        "accepted by fw filter INPUT policy ACCEPT; no rule refused it: fw's own kernel answered with a reset (nothing listens on tcp/30007 there)",
    );
  });

  it("a reset from the firewall's own kernel: the packet went in, no rule refused it", () => {
    expect(
      failed({
        expect: "timeout",
        verdict: "refused",
        to: "10.0.1.1",
        trace: [delivered],
        flows: [flow({ proto: "udp", dst: "10.0.1.1", sport: 61001, dport: 53 })],
        alongside: 1,
      }),
    ).toMatch(
      /went in to fw itself; no rule refused it: fw's own kernel answered with ICMP port unreachable \(nothing listens on udp\/53 there\)$/,
    );
  });

  it("a silence after the packet passed: the server's own question to a third host, dropped", () => {
    const question = line(
      { verdict: "DROP", chain: "forward", rule: 7, ruleText: 'log prefix "x" counter drop', packetId: "2" },
      {
        packetId: "2",
        src: "10.0.2.53",
        dst: "198.51.100.53",
        proto: "udp",
        sport: 41234,
        dport: 53,
        flags: [],
      },
    );
    const reason = failed({
      described: "DNS UDP query www.example.com -> 10.0.2.53:53",
      to: "10.0.2.53",
      trace: [line({ passed: "forwarded" }, { dst: "10.0.2.53", proto: "udp", dport: 53, flags: [] })],
      traced: [question],
      // The drop rule's counter moved for the question, not for the probe's packet.
      counters: {
        fw: [{ ...counter("forward", 'log prefix "x" counter drop', 7), nftFamily: "inet", hook: "forward" }],
      },
    });
    expect(reason).toBe(
      "expected ok, observed timeout: DNS UDP query www.example.com -> 10.0.2.53:53 passed through fw; " +
        "meanwhile 10.0.2.53 asked another host, and a firewall dropped that: UDP 10.0.2.53:41234 -> 198.51.100.53:53 (fw filter forward rule 7)",
    );
  });

  it("an answer dropped on its way back to a masqueraded client is the probe's own: the drop is named", () => {
    const answer = line(
      { verdict: "DROP", rule: 1, ruleText: "-A FORWARD -i wan -o lan -j DROP", packetId: "2" },
      {
        packetId: "2",
        src: "10.0.2.22",
        dst: "198.51.100.1",
        sport: 22,
        dport: 61001,
        flags: ["SYN", "ACK"],
      },
    );
    expect(
      failed({
        // The answer is among the probe's own packets (packetOf tells it by its ports).
        trace: [forwarded, answer],
        traced: [forwarded, answer],
        counters: { fw: [counter("FORWARD", "-i wan -o lan -j DROP", 1)] },
      }),
    ).toBe(
      "expected ok, observed timeout: TCP 10.0.1.10:61001 -> 10.0.2.22:22 dropped by fw filter FORWARD rule 1",
    );
  });

  it("a probe that got through where a drop was expected names the accepting rule; a failed check is said as such", () => {
    expect(
      failed({
        expect: "timeout",
        verdict: "ok",
        trace: [forwarded],
        counters: { fw: [counter("FORWARD", "policy ACCEPT")] },
      }),
    ).toMatch(/22:22 accepted by fw filter FORWARD policy ACCEPT$/);
    expect(
      failed({
        verdict: "ok",
        first: { what: "tcp result", ok: false, detail: 'reply "" lacks "220"' },
        probeCheckFailed: true,
      }),
    ).toBe('tcp result: reply "" lacks "220"');
  });

  it("what the node itself said, when the packet never left it", () => {
    expect(
      failed({
        expect: "timeout",
        verdict: "unreachable",
        detail: "10.0.2.22:22: ENETUNREACH: this node has no route to 10.0.2.22; the packet never left it",
      }),
    ).toMatch(
      /22:22 \(10\.0\.2\.22:22: ENETUNREACH: this node has no route to 10\.0\.2\.22; the packet never left it\)$/,
    );
  });
});
