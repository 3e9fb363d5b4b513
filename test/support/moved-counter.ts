import type { CounterDelta } from "../../src/evidence/counters.ts";

/** A filter rule's counter (or a policy's, without a rule number) that moved by one packet. */
export const movedCounter = (chain: string, rule: number | undefined, spec: string): CounterDelta => ({
  table: "filter",
  chain,
  ...(rule === undefined ? {} : { rule }),
  spec,
  packets: 1,
  bytes: 60,
});
