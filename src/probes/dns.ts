import { z } from "zod";
import { hostPort, target } from "./params.ts";
import { defineProbe } from "./probe.ts";

/** One DNS query with dig, over UDP or one TCP connection. */
export const dns = defineProbe(
  z.strictObject({
    probe: z.literal("dns"),
    server: target,
    query: z.string().min(1),
    type: z.string().optional(),
    tcp: z.boolean().optional(),
    answer: z.union([z.string(), z.array(z.string())]).optional(),
  }),
  {
    singleFlow: () => true,
    watchesFlows: () => true,
    target: (s) => s.server,
    request: (s, run) => ({
      server: run.to,
      name: s.query,
      type: s.type,
      tcp: s.tcp,
      waitMs: run.waitMs,
      localPort: run.ports[0],
    }),
    check: (s, r) => {
      if (s.answer === undefined || r.verdict !== "ok") return [];
      const got = (r.facts?.answers as string[] | undefined) ?? [];
      const want = Array.isArray(s.answer) ? s.answer : [s.answer];
      const missing = want.filter((w) => !got.includes(w));
      return missing.length ? [`answer ${JSON.stringify(got)} lacks ${JSON.stringify(missing)}`] : [];
    },
    describe: (s, to) => `DNS ${s.tcp ? "TCP" : "UDP"} query ${s.query} -> ${hostPort(to, 53)}`,
  },
);
