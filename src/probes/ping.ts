import type { ProbeStep } from "../scenarios/scenario-schema.ts";
import type { Probe } from "./probe.ts";

type Step = Extract<ProbeStep, { probe: "ping" }>;

export const ping: Probe<Step> = {
  request: (s, to, timeoutMs) => ({ host: to, count: s.count ?? 1, timeoutMs }),
  // ICMP has no ports: one echo, and the lab's other probes between the same pair, decide.
  flow: (s, to) => ((s.count ?? 1) === 1 ? { proto: "icmp", dst: to } : undefined),
  check: () => [],
  describe: (_s, to) => `ICMP echo -> ${to}`,
};
