import type { ProbeStep } from "../scenarios/scenario-schema.ts";
import type { Probe } from "./probe.ts";

type Step = Extract<ProbeStep, { probe: "ping" }>;

export const ping: Probe<Step> = {
  request: (s, to, timeoutMs) => ({ host: to, count: s.count ?? 1, timeoutMs }),
  check: () => [],
  describe: (_s, to) => `ICMP echo -> ${to}`,
};
