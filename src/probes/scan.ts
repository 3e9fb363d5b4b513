import { z } from "zod";
import { hostPort, target } from "./params.ts";
import { defineProbe } from "./probe.ts";

/** A port scan with nmap (one technique); per port, nmap's state. */
export const scan = defineProbe(
  z.strictObject({
    probe: z.literal("scan"),
    to: target,
    // `technique: null` unquoted is YAML's empty value; nobody writes it for anything but -sN.
    technique: z.preprocess(
      (v) => (v === null ? "null" : v),
      z.enum(["syn", "null", "xmas", "ack", "fin", "connect", "udp"]),
    ),
    flags: z
      .string()
      .regex(/^(URG|ACK|PSH|RST|SYN|FIN|ECE|CWR)+$/)
      .optional()
      .describe('custom TCP flags (nmap --scanflags), e.g. "URGACKPSHRSTSYNFIN" for every flag'),
    ports: z
      .record(z.string().regex(/^\d+$/), z.string())
      .describe('per port, nmap\'s state: {"22": "filtered"}'),
  }),
  {
    singleFlow: () => false,
    expectByDefault: "ok",
    // Many packets with nmap's own retries and timing: its states are its verdicts.
    watchesFlows: () => false,
    target: (s) => s.to,
    request: (s, run) => ({
      host: run.to,
      technique: s.technique,
      flags: s.flags,
      ports: Object.keys(s.ports).join(","),
      waitMs: run.waitMs,
    }),
    check: (s, r) => {
      if (r.verdict !== "ok") return [];
      const got = (r.facts?.ports ?? {}) as Record<string, { state: string; reason: string }>;
      return Object.entries(s.ports).flatMap(([p, want]) =>
        got[p]?.state === want
          ? []
          : [
              `port ${p}: ${got[p] ? `${got[p].state} (${got[p].reason})` : "not reported"}, expected ${want}`,
            ],
      );
    },
    describe: (s, to) =>
      `${s.flags ? `${s.flags} (${s.technique})` : s.technique.toUpperCase()} scan -> ${hostPort(to, Object.keys(s.ports).join(","))}`,
  },
);
