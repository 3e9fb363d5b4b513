import type { ProbeStep } from "../scenarios/scenario-schema.ts";
import type { Probe } from "./probe.ts";

type Step = Extract<ProbeStep, { probe: "scan" }>;

export const scan: Probe<Step> = {
  request: (s, to, timeoutMs) => ({
    host: to,
    technique: s.technique,
    ports: Object.keys(s.ports).join(","),
    timeoutMs,
  }),
  check: (s, r) => {
    if (r.verdict !== "ok") return [];
    const got = (r.facts?.ports ?? {}) as Record<string, { state: string; reason: string }>;
    return Object.entries(s.ports).flatMap(([p, want]) =>
      got[p]?.state === want
        ? []
        : [`port ${p}: ${got[p] ? `${got[p].state} (${got[p].reason})` : "not reported"}, expected ${want}`],
    );
  },
  describe: (s, to) =>
    `${s.flags ? `${s.flags} (${s.technique})` : s.technique.toUpperCase()} scan -> ${to}:${Object.keys(s.ports).join(",")}`,
};
