import { describe, expect, it } from "vitest";
import { EventBus } from "../../src/evidence/event-bus.ts";
import type { TraceEvent } from "../../src/evidence/events.ts";
import { parseTraceLine } from "../../src/evidence/parse-trace.ts";
import type { AgentResult, ProbeFlow, RunOptions } from "../../src/probes/probe-agent.ts";
import { FlowVerdicts } from "../../src/scenarios/flow-verdicts.ts";
import { raceProbe } from "../../src/scenarios/probe-race.ts";

const FLOW: ProbeFlow = { proto: "tcp", dst: "10.0.2.80", sport: 61001, dport: 80 };

/**
 * A probe agent whose probe announces FLOW and then hears nothing until `answer` is called or
 * fwlab stops it (as agent.js does: a stopped probe ends as a timeout).
 */
function silentAgent() {
  let answer!: (r: AgentResult) => void;
  const agent = {
    run: (_kind: string, _req: Record<string, unknown>, opts: RunOptions = {}) =>
      new Promise<AgentResult>((resolve) => {
        answer = resolve;
        opts.onFlow?.(FLOW, false);
        opts.signal?.addEventListener("abort", () =>
          resolve({ verdict: "timeout", detail: "stopped", durationMs: 0 }),
        );
      }),
  };
  return { agent, answer: (r: AgentResult) => answer(r) };
}

/** fw's trace of FLOW's SYN: passed on to the dmz. */
const passedOn = (): TraceEvent => ({
  kind: "trace",
  lab: "l",
  node: "fw",
  packetId: "p1",
  table: "fwlab_trace",
  chain: "forwarded",
  verdict: "ACCEPT",
  ruleText: "passed: fw sent it on",
  passed: "forwarded",
  // A line of images/common/usr/local/lib/fwlab/nftrace, as fw printed it.
  packet: parseTraceLine(
    "trace id=p1 type=policy table=fwlab_trace chain=forwarded handle=0 verdict=accept family=ip iif=lan oif=dmz src=10.0.1.10 dst=10.0.2.80 len=60 ttl=63 ipid=1 proto=tcp sport=61001 dport=80 flags=SYN",
  )!.packet,
  time: Date.now(),
});

const race = (
  agent: ReturnType<typeof silentAgent>["agent"],
  flows: FlowVerdicts,
  inFlightMs = 200,
  // The traces are caught up with at once: nothing is late in these tests but the packet.
  syncTraces = async () => true,
  timeoutMs = 50,
) =>
  raceProbe({
    agent,
    kind: "tcp",
    request: {},
    lab: "l",
    fromNode: "client",
    src: ["10.0.1.10"],
    timeoutMs,
    inFlightMs,
    flows,
    syncTraces,
  });

describe("raceProbe: a packet sent late", () => {
  it("gets the whole timeout from when a firewall first saw it, not from when its flow was announced", async () => {
    const bus = new EventBus();
    const flows = new FlowVerdicts(bus);
    const { agent, answer } = silentAgent();
    // Margins of 100 ms and more: a unit run on a busy machine fires timers late.
    const result = race(agent, flows, 0, undefined, 500);
    // The probe's program started slowly: its packet reaches fw 250 ms into the 500 ms timeout,
    // and the answer comes at 650 ms (the step's timeout after the announcement has passed).
    setTimeout(() => bus.publish({ ...passedOn(), passed: undefined, time: Date.now() }), 250);
    setTimeout(() => answer({ verdict: "ok", detail: "answered", durationMs: 650 }), 650);
    expect((await result).result).toMatchObject({ verdict: "ok", detail: "answered" });
    flows.close();
  });

  it("is a timeout once the whole timeout has passed since it was seen", async () => {
    const bus = new EventBus();
    const flows = new FlowVerdicts(bus);
    const { agent } = silentAgent();
    const result = race(agent, flows, 0, undefined, 500);
    setTimeout(() => bus.publish({ ...passedOn(), passed: undefined, time: Date.now() }), 250);
    const t0 = Date.now();
    expect((await result).result).toMatchObject({
      verdict: "timeout",
      detail: "fw took the packet in but did not pass it on; no answer within 500 ms",
    });
    // Decided no sooner than 500 ms after the sighting at 250 ms.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(740);
    flows.close();
  });

  it("rejected by a firewall with no error heard: a timeout that names the REJECT and the kernel's rate limit", async () => {
    const bus = new EventBus();
    const flows = new FlowVerdicts(bus);
    const { agent } = silentAgent();
    const result = race(agent, flows, 0);
    setTimeout(
      () =>
        bus.publish({
          ...passedOn(),
          passed: undefined,
          table: "filter",
          chain: "FORWARD",
          rule: 9,
          verdict: "DROP",
          ruleText: "-A FORWARD -d 10.0.2.80/32 -p tcp -j REJECT --reject-with icmp-admin-prohibited",
          time: Date.now(),
        }),
      5,
    );
    expect((await result).result).toMatchObject({
      verdict: "timeout",
      detail:
        "fw rejected it (filter FORWARD rule 9: -A FORWARD -d 10.0.2.80/32 -p tcp -j REJECT --reject-with icmp-admin-prohibited), " +
        "but no error came back within 50 ms: a kernel that rate-limits its ICMP errors (net.ipv4.icmp_ratelimit, net.ipv6.icmp.ratelimit) sends none for a while",
    });
    flows.close();
  });
});

describe("raceProbe: a packet no firewall saw by the timeout", () => {
  it("is waited for while it may be on its way: a firewall passing it on later means its answer comes", async () => {
    const bus = new EventBus();
    const flows = new FlowVerdicts(bus);
    const { agent, answer } = silentAgent();
    const result = race(agent, flows);
    // After the step's timeout (50 ms), within the time a packet may be in flight (200 ms).
    setTimeout(() => bus.publish(passedOn()), 120);
    setTimeout(() => answer({ verdict: "ok", detail: "connected", durationMs: 400 }), 400);
    expect((await result).result).toMatchObject({ verdict: "ok", detail: "connected" });
    flows.close();
  });

  it("is a timeout once it had that time too, said with both times", async () => {
    const bus = new EventBus();
    const flows = new FlowVerdicts(bus);
    const { agent } = silentAgent();
    const { result } = await race(agent, flows);
    expect(result).toMatchObject({
      verdict: "timeout",
      detail: "no answer within 50 ms, and no firewall saw the packet in 250 ms",
    });
    flows.close();
  });

  it("on one host (no time in flight) is a timeout at the step's timeout, whatever the kernel says later", async () => {
    const bus = new EventBus();
    const flows = new FlowVerdicts(bus);
    const { agent, answer } = silentAgent();
    const result = race(agent, flows, 0);
    // A SYN that never left (no neighbour found): the kernel says so seconds later.
    setTimeout(() => answer({ verdict: "unreachable", detail: "EHOSTUNREACH", durationMs: 3000 }), 300);
    expect((await result).result).toMatchObject({
      verdict: "timeout",
      detail: "no answer within 50 ms, and no firewall saw the packet",
    });
    flows.close();
  });
});

describe("raceProbe: a trace line and the marker after it in one chunk", () => {
  // The trace reader handles a chunk's lines in one turn: the trace that passed the packet is
  // published (delivered to subscribers after that turn) and the marker's wait resolves (in it).
  // (Without waiting for the bus, this race was a wrong `timeout`: five packs at once in CI.)
  const syncInOneChunk = (bus: EventBus) => async () => {
    bus.publish(passedOn());
    await bus.delivered();
    return true;
  };

  it("waits for the answer once the bus has delivered the lines before the marker", async () => {
    const bus = new EventBus();
    const flows = new FlowVerdicts(bus);
    const { agent, answer } = silentAgent();
    const result = race(agent, flows, 0, syncInOneChunk(bus));
    setTimeout(() => answer({ verdict: "ok", detail: "connected", durationMs: 120 }), 120);
    expect((await result).result).toMatchObject({ verdict: "ok", detail: "connected" });
    flows.close();
  });
});

describe("EventBus.delivered", () => {
  it("resolves after every subscriber has handled what was published before it", async () => {
    const bus = new EventBus();
    const seen: string[] = [];
    bus.subscribe((e) => seen.push(`a:${e.kind}`));
    bus.subscribe((e) => seen.push(`b:${e.kind}`));
    await bus.delivered(); // nothing queued: at once
    bus.publish(passedOn());
    expect(seen).toEqual([]);
    await bus.delivered();
    expect(seen).toEqual(["a:trace", "b:trace"]);
  });
});
