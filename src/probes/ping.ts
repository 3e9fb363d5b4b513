import { z } from "zod";
import { target } from "./params.ts";
import { defineProbe } from "./probe.ts";

/** ICMP echo: exactly `count` requests. One echo is a flow a firewall's trace can decide. */
export const ping = defineProbe(
  z.strictObject({
    probe: z.literal("ping"),
    to: target,
    count: z.number().int().min(1).max(20).optional(),
  }),
  {
    // Several echoes are decided by their replies, not by one dropped request.
    singleFlow: true,
    watchesFlows: (s) => (s.count ?? 1) === 1,
    target: (s) => s.to,
    request: (s, run) => ({ host: run.to, count: s.count ?? 1, waitMs: run.waitMs }),
    check: () => [],
    describe: (s, to) => `ICMP echo${(s.count ?? 1) > 1 ? ` x${s.count}` : ""} -> ${to}`,
  },
);
