import { describe, expect, it } from "vitest";
import { catchUp, type MarkerStream, MarkerWaits } from "../../src/evidence/markers.ts";

/** A stream that delivers the markers it is sent, except those it is told to lose. */
function lossyStream(name: string, lose: (n: number) => boolean) {
  const waits = new MarkerWaits();
  let sent = 0;
  const stream: MarkerStream = { name, wait: (sport, signal) => waits.wait(String(sport), signal) };
  const deliver = (sport: number) => {
    sent += 1;
    if (!lose(sent)) setTimeout(() => waits.arrived(String(sport)), 1);
  };
  return { stream, deliver, waits };
}

const ports = () => {
  let p = 65000;
  return () => p++;
};

/** Catches the streams up, each marker sent to all of them; the ports sent, and the late ones. */
async function catchUpAll(streams: ReturnType<typeof lossyStream>[], limitMs: number, resendMs: number) {
  const sent: number[] = [];
  const late = await catchUp(
    streams.map((s) => s.stream),
    async (sport) => {
      sent.push(sport);
      for (const s of streams) s.deliver(sport);
    },
    ports(),
    { limitMs, resendMs },
  );
  return { sent, late, waiting: streams.reduce((n, s) => n + s.waits.size, 0) };
}

describe("catching evidence streams up with markers", () => {
  it("sends one marker when every stream delivers it", async () => {
    const r = await catchUpAll([lossyStream("a", () => false), lossyStream("b", () => false)], 2000, 500);
    expect(r).toEqual({ sent: [65000], late: [], waiting: 0 });
  });

  it("sends another marker when a stream lost the first, and names none late once it came", async () => {
    const kernel = lossyStream("the kernel log", (n) => n === 1);
    const trace = lossyStream("the packet trace", () => false);
    // The second marker went only to the stream that still had to catch up; nothing is left waiting.
    expect(await catchUpAll([kernel, trace], 2000, 20)).toEqual({
      sent: [65000, 65001],
      late: [],
      waiting: 0,
    });
  });

  it("names the stream that never delivers, after the limit, and forgets its waits", async () => {
    const r = await catchUpAll(
      [lossyStream("NFLOG group 5", () => true), lossyStream("the packet trace", () => false)],
      100,
      20,
    );
    expect(r.late).toEqual(["NFLOG group 5"]);
    expect(r.sent.length).toBeGreaterThan(1);
    expect(r.waiting).toBe(0);
  });

  it("takes a late first marker as proof even after a second one was sent", async () => {
    const waits = new MarkerWaits();
    const sent: number[] = [];
    const late = await catchUp(
      [{ name: "slow", wait: (sport, signal) => waits.wait(String(sport), signal) }],
      async (sport) => {
        sent.push(sport);
        // Only the first marker ever comes out, after the second was sent.
        if (sent.length === 2) waits.arrived(String(sent[0]));
      },
      ports(),
      { limitMs: 2000, resendMs: 20 },
    );
    expect(late).toEqual([]);
    expect(sent).toEqual([65000, 65001]);
  });
});
