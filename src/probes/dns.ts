import type { ProbeStep } from "../scenarios/scenario-schema.ts";
import type { Probe } from "./probe.ts";

type Step = Extract<ProbeStep, { probe: "dns" }>;

export const dns: Probe<Step> = {
  request: (s, to, timeoutMs, sourcePort) => ({
    server: to,
    name: s.query,
    type: s.type,
    tcp: s.tcp,
    timeoutMs,
    localPort: sourcePort,
  }),
  flow: (s, to, sourcePort) => ({ proto: s.tcp ? "tcp" : "udp", dst: to, dport: 53, sport: sourcePort }),
  check: (s, r) => {
    if (s.answer === undefined || r.verdict !== "ok") return [];
    const got = (r.facts?.answers as string[] | undefined) ?? [];
    const want = Array.isArray(s.answer) ? s.answer : [s.answer];
    const missing = want.filter((w) => !got.includes(w));
    return missing.length ? [`answer ${JSON.stringify(got)} lacks ${JSON.stringify(missing)}`] : [];
  },
  describe: (s, to) => `DNS ${s.tcp ? "TCP" : "UDP"} query ${s.query} -> ${to}:53`,
};
