import type { ProbeStep } from "../scenarios/scenario-schema.ts";
import { local, type Probe, replyLacks, seenIn } from "./probe.ts";

type Step = Extract<ProbeStep, { probe: "tcp" }>;

export const tcp: Probe<Step> = {
  request: (s, to, timeoutMs) => ({
    host: to,
    port: s.port,
    timeoutMs,
    send: s.send ?? (s.reply ? "\n" : undefined),
    localPort: s.sourcePort,
  }),
  check: (s, r) => replyLacks(s.reply, r),
  seenFrom: (r) => seenIn(r.facts?.received),
  describe: (s, to, r) => `TCP ${local(r)} -> ${to}:${s.port}`,
};
