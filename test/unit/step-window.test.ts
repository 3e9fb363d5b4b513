import { describe, expect, it } from "vitest";
import type { PacketLogEvent } from "../../src/evidence/events.ts";
import { eventsOfStep } from "../../src/scenarios/step-window.ts";

const line = (prefix: string, time: number, lab = "fwlab"): PacketLogEvent => ({
  kind: "packet-log",
  source: "LOG",
  lab,
  node: "fw",
  prefix,
  fields: { family: 4, src: "10.0.1.10", dst: "10.0.2.80", proto: "ICMP" },
  time,
});

describe("eventsOfStep: a step's evidence is what arrived while it ran", () => {
  it("the step before's lines, stamped a millisecond before this step began, are not this step's", () => {
    // Seen in the seed pack on a fast machine: a ping through the firewall, then at once a ping
    // from it; the first step's lines (time 692) fell in the second's 5 ms of slack (693).
    const events = [line("filter-fwd", 692), line("nat-post", 692)];
    const firstEvent = events.length;
    events.push(line("raw-out", 699), line("filter-out", 699));
    const got = eventsOfStep(events, { lab: "fwlab", firstEvent, startedAt: 693, endedAt: 705 });
    expect(got.map((e) => (e as PacketLogEvent).prefix)).toEqual(["raw-out", "filter-out"]);
  });

  it("keeps the time bounds: 5 ms of slack before, nothing after the end, only its lab", () => {
    const events = [
      line("skewed", 689),
      line("too-early", 687),
      line("other-lab", 700, "lab2"),
      line("late", 706),
    ];
    const got = eventsOfStep(events, { lab: "fwlab", firstEvent: 0, startedAt: 693, endedAt: 705 });
    expect(got.map((e) => (e as PacketLogEvent).prefix)).toEqual(["skewed"]);
  });
});
