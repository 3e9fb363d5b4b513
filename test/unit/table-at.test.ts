import { describe, expect, it } from "vitest";
import type { ConntrackChangeEvent } from "../../src/evidence/events.ts";
import { parseConntrackEntry } from "../../src/evidence/parse-conntrack.ts";
import { tableAt } from "../../src/scenarios/check-evidence.ts";

// A DNS query's entry on a firewall whose UDP timeout is 1 s.
const entry = parseConntrackEntry(
  "udp      17 1 src=10.0.1.10 dst=10.0.2.53 sport=40000 dport=53 src=10.0.2.53 dst=10.0.1.10 sport=53 dport=40000 mark=0 use=1 id=7",
)!;
const event = (type: ConntrackChangeEvent["type"], time: number, kernel?: { start: number; end: number }) =>
  ({
    kind: "conntrack",
    lab: "l",
    node: "fw",
    type,
    entry,
    time,
    kernelStart: kernel?.start,
    kernelTime: kernel?.end,
  }) as ConntrackChangeEvent;

describe("tableAt: the conntrack table at a step's end", () => {
  it("keeps an entry whose NEW event came after the probe's end (a busy machine), expired before the read", () => {
    // The probe ended at 1000; the event pipeline, behind on two busy cores, brought NEW at 1300;
    // the read at 2470 no longer found the entry.
    expect(tableAt([], [event("NEW", 1300)], 1050)).toEqual([entry]);
  });

  it("drops an entry the kernel says ended before the step's end", () => {
    expect(tableAt([], [event("NEW", 900), event("DESTROY", 2100, { start: 500, end: 1000 })], 1050)).toEqual(
      [],
    );
  });

  it("drops an entry the kernel says began after the step's end", () => {
    expect(
      tableAt([], [event("NEW", 1300), event("DESTROY", 2500, { start: 1200, end: 2400 })], 1050),
    ).toEqual([]);
  });

  it("keeps an entry alive at the step's end by the kernel's times, whenever its events came", () => {
    expect(
      tableAt([], [event("NEW", 1300), event("DESTROY", 2500, { start: 990, end: 2000 })], 1050),
    ).toEqual([entry]);
  });

  it("does not list an entry twice when the read found it too", () => {
    expect(tableAt([entry], [event("NEW", 1300)], 1050)).toEqual([entry]);
  });
});
