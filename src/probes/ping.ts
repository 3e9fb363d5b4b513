import { z } from "zod";
import { target } from "./params.ts";
import { defineProbe } from "./probe.ts";

const replyCount = z.number().int().min(0).max(20);

/**
 * ICMP echo: exactly `count` requests, `intervalMs` apart. One echo is a flow a firewall's trace
 * can decide; several are judged by their replies, and `replies` says how many a rate limit
 * (`-m limit`, nft's `limit rate`, `hashlimit`) should let through.
 */
export const ping = defineProbe(
  z.strictObject({
    probe: z.literal("ping"),
    to: target,
    count: z.number().int().min(1).max(20).optional(),
    intervalMs: z
      .number()
      .int()
      .min(10)
      .max(5000)
      .optional()
      .describe("time between the echo requests (ping -i), default 1000"),
    replies: z
      .union([replyCount, z.strictObject({ min: replyCount.optional(), max: replyCount.optional() })])
      .optional()
      .describe("how many echo replies came back: a number, or { min, max }"),
  }),
  {
    // Several echoes are decided by their replies, not by one dropped request.
    singleFlow: (s) => s.replies === undefined,
    watchesFlows: (s) => (s.count ?? 1) === 1,
    target: (s) => s.to,
    request: (s, run) => ({
      host: run.to,
      count: s.count ?? 1,
      intervalMs: s.intervalMs,
      waitMs: run.waitMs,
    }),
    check: (s, r) => {
      if (s.replies === undefined) return [];
      const got = typeof r.facts?.received === "number" ? r.facts.received : 0;
      const { min = 0, max = Number.POSITIVE_INFINITY } =
        typeof s.replies === "number" ? { min: s.replies, max: s.replies } : s.replies;
      if (got >= min && got <= max) return [];
      const want =
        min === max ? `${min}` : max === Number.POSITIVE_INFINITY ? `at least ${min}` : `${min}-${max}`;
      return [`${got} echo repl${got === 1 ? "y" : "ies"} of ${s.count ?? 1}, expected ${want}`];
    },
    describe: (s, to) => `ICMP echo${(s.count ?? 1) > 1 ? ` x${s.count}` : ""} -> ${to}`,
  },
);
