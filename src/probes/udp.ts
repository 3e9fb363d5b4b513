import type { ProbeStep } from "../scenarios/scenario-schema.ts";
import { local, type Probe, replyLacks, seenIn } from "./probe.ts";

type Step = Extract<ProbeStep, { probe: "udp" }>;

export const udp: Probe<Step> = {
  request: (s, to, timeoutMs, sourcePort) => ({
    host: to,
    port: s.port,
    timeoutMs,
    payload: s.payload,
    localPort: sourcePort,
  }),
  flow: (s, to, sourcePort) => ({ proto: "udp", dst: to, dport: s.port, sport: sourcePort }),
  check: (s, r) => replyLacks(s.reply, r),
  seenFrom: (r) => seenIn(r.facts?.received),
  describe: (s, to, r) => `UDP ${local(r)} -> ${to}:${s.port}`,
};
