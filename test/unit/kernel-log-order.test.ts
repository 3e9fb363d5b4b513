import { describe, expect, it } from "vitest";
import { EventBus } from "../../src/evidence/event-bus.ts";
import type { EvidenceEvent } from "../../src/evidence/events.ts";
import { watchKernelLog } from "../../src/evidence/kernel-log-source.ts";
import { MARKER } from "../../src/evidence/markers.ts";
import { startLab } from "../../src/lab/start-lab.ts";
import { macFor } from "../../src/topology/mac-for.ts";
import { fakeEngine, withImages } from "../support/fake-engine.ts";

describe("the kernel log reader: a marker never passes a line it follows", () => {
  it("a lab's line that waits for the address book (the lab started after the reader) comes before the marker after it", async () => {
    const engine = fakeEngine({});
    withImages(engine, ["fwlab/client:latest", "fwlab/web:latest"]);
    const bus = new EventBus(1000);
    const seen: EvidenceEvent[] = [];
    bus.subscribe((e) => seen.push(e));
    // The reader starts first: its address book has no lab yet.
    const kernel = await watchKernelLog(engine, bus);
    await startLab("test/fixtures/labs/flat.yml", { engine });
    // Waited for before it is sent, as a step does.
    const caught = kernel.marker("t1", 40001);
    const mac = `${macFor("10.60.1.80")}:${macFor("10.60.1.10")}:08:00`;
    engine.host.kmsg(
      `first-in: IN=net OUT= MAC=${mac} SRC=10.60.1.10 DST=10.60.1.80 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=1 DF PROTO=TCP SPT=40000 DPT=80 WINDOW=64240 RES=0x00 SYN URGP=0`,
    );
    engine.host.kmsg(
      `${MARKER} t1 IN=net OUT= MAC=${mac} SRC=10.60.1.10 DST=10.60.1.80 LEN=28 TOS=0x00 PREC=0x00 TTL=64 ID=2 PROTO=UDP SPT=40001 DPT=9 LEN=8`,
    );
    await caught;
    await bus.delivered();
    const lines = seen.filter((e) => e.kind === "packet-log");
    expect(lines.map((e) => [e.kind === "packet-log" && e.prefix, "node" in e && e.node])).toEqual([
      ["first-in:", "web"],
    ]);
    await kernel.stop();
  });
});
