import type { ProbeStep } from "../scenarios/scenario-schema.ts";
import type { Probe } from "./probe.ts";

type Step = Extract<ProbeStep, { probe: "ssh" }>;

export const ssh: Probe<Step> = {
  request: (s, to, timeoutMs, sourcePort) => ({
    host: to,
    port: s.port ?? 22,
    user: s.user ?? "student",
    auth: s.auth ?? "key",
    password: s.password ?? "student",
    command: s.command ?? "echo fwlab-ssh-ok",
    timeoutMs,
    localPort: sourcePort,
  }),
  // The agent connects once with this port before ssh runs: a dropped SYN decides.
  flow: (s, to, sourcePort) => ({ proto: "tcp", dst: to, dport: s.port ?? 22, sport: sourcePort }),
  check: (s, r) => {
    if (r.verdict !== "ok") return [];
    const out = String(r.facts?.output ?? "");
    const want = s.output ?? (s.command ? undefined : "fwlab-ssh-ok");
    return want !== undefined && !out.includes(want)
      ? [`output ${JSON.stringify(out.trim())} lacks ${JSON.stringify(want)}`]
      : [];
  },
  seenFrom: (r) => /(\d+\.\d+\.\d+\.\d+) \d+ \d+/.exec(String(r.facts?.output ?? ""))?.[1],
  describe: (s, to) => `SSH -> ${to}:${s.port ?? 22}`,
};
