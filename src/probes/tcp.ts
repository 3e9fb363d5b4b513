import type { ProbeStep } from "../scenarios/scenario-schema.ts";
import { local, type Probe, replyLacks, seenIn } from "./probe.ts";

type Step = Extract<ProbeStep, { probe: "tcp" }>;

export const tcp: Probe<Step> = {
  request: (s, to, timeoutMs, sourcePort) => ({
    host: to,
    port: s.port,
    timeoutMs,
    send: s.send ?? (s.reply ? "\n" : undefined),
    localPort: sourcePort,
  }),
  flow: (s, to, sourcePort) => ({ proto: "tcp", dst: to, dport: s.port, sport: sourcePort }),
  check: (s, r) => replyLacks(s.reply, r),
  seenFrom: (r) => seenIn(r.facts?.received),
  describe: (s, to, r) => `TCP ${local(r)} -> ${to}:${s.port}`,
};
