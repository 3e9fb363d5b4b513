import type { ProbeStep } from "../scenarios/scenario-schema.ts";
import { type Probe, seenIn } from "./probe.ts";

type Step = Extract<ProbeStep, { probe: "http" }>;

const url = (s: Step, to: string) =>
  `${s.https ? "https" : "http"}://${to}${s.port ? `:${s.port}` : ""}${s.path ?? "/"}`;

export const http: Probe<Step> = {
  request: (s, to, timeoutMs, sourcePort) => ({ url: url(s, to), timeoutMs, localPort: sourcePort }),
  flow: (s, to, sourcePort) => ({
    proto: "tcp",
    dst: to,
    dport: s.port ?? (s.https ? 443 : 80),
    sport: sourcePort,
  }),
  check: (s, r) => {
    if (r.verdict !== "ok") return [];
    const out: string[] = [];
    const status = Number(r.facts?.status);
    if (s.status !== undefined && status !== s.status) out.push(`status ${status}, expected ${s.status}`);
    const body = String(r.facts?.body ?? "");
    if (s.body !== undefined && !body.includes(s.body))
      out.push(`body ${JSON.stringify(body.slice(0, 80))} lacks ${JSON.stringify(s.body)}`);
    return out;
  },
  seenFrom: (r) => seenIn(r.facts?.body),
  describe: (s, to) => `HTTP${s.https ? "S" : ""} GET ${url(s, to)}`,
};
