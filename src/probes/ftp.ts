import type { ProbeStep } from "../scenarios/scenario-schema.ts";
import type { Probe } from "./probe.ts";

type Step = Extract<ProbeStep, { probe: "ftp" }>;
const HELLO = "hello from the fwlab ftp server\n";

export const ftp: Probe<Step> = {
  request: (s, to, timeoutMs, sourcePort) => ({
    host: to,
    user: s.user ?? "student",
    password: s.password ?? "student",
    path: s.file ?? "files/hello.txt",
    mode: s.mode,
    timeoutMs,
    localPort: sourcePort,
  }),
  // The agent connects the control connection once with this port first: a dropped SYN decides.
  // (A dropped data connection is left to curl's timeout: its port is not known in advance.)
  flow: (_s, to, sourcePort) => ({ proto: "tcp", dst: to, dport: 21, sport: sourcePort }),
  check: (s, r) => {
    if (r.verdict !== "ok") return [];
    const want = s.content ?? (s.file ? undefined : HELLO);
    const got = String(r.facts?.content ?? "");
    return want !== undefined && got !== want
      ? [`RETR gave ${JSON.stringify(got.slice(0, 80))}, expected ${JSON.stringify(want)}`]
      : [];
  },
  describe: (s, to) => `FTP ${s.mode} -> ${to}:21`,
};
