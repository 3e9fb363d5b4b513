import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StartedLab } from "../../src/index.ts";
import { OPEN_RULES, received, sharedLab } from "./shared-lab.ts";

describe("a default-DROP ruleset on fw", () => {
  let lab: StartedLab;
  beforeAll(async () => {
    lab = await sharedLab();
  });
  afterAll(() => lab.loadRuleset("fw", OPEN_RULES));

  it("lets traffic through while FORWARD accepts", async () => {
    await lab.loadRuleset("fw", OPEN_RULES);
    const ping = await lab.exec("client", ["ping", "-c", "1", "-W", "1", "10.0.2.80"]);
    expect(received(ping.stdout)).toBe(1);
  });

  it("blocks ping and TCP across fw once FORWARD drops: the client hears nothing", async () => {
    await lab.loadRuleset("fw", "test/fixtures/rulesets/forward-drop.sh");
    const ping = await lab.exec("client", ["ping", "-c", "1", "-W", "1", "10.0.2.80"]);
    expect(received(ping.stdout)).toBe(0);
    const tcp = await lab.exec("client", ["nc", "-z", "-w", "1", "10.0.2.80", "80"]);
    expect(tcp.exitCode).not.toBe(0);
    expect(tcp.durationMs).toBeGreaterThan(900); // silence: nc waited for its timeout
  });

  it("REJECT answers at once, unlike DROP: a reset for TCP, host-prohibited for ICMP", async () => {
    await lab.loadRuleset("fw", "test/fixtures/rulesets/forward-reject.sh");
    const tcp = await lab.exec("client", ["nc", "-v", "-z", "-w", "2", "10.0.2.80", "80"]);
    expect(tcp.exitCode).not.toBe(0);
    expect(tcp.stderr).toMatch(/refused/i);
    const ping = await lab.exec("client", ["ping", "-c", "1", "-W", "1", "10.0.2.80"]);
    expect(ping.stdout).toMatch(/Packet Host Prohibited|Destination Host Prohibited/i);
  });

  it("does not stop fw itself from answering on its own addresses (INPUT is a different chain)", async () => {
    await lab.loadRuleset("fw", "test/fixtures/rulesets/forward-drop.sh");
    const ping = await lab.exec("client", ["ping", "-c", "1", "-W", "1", "10.0.1.1"]);
    expect(received(ping.stdout)).toBe(1);
  });
});
