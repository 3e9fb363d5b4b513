import { z } from "zod";
import { hostPort, port, target } from "./params.ts";
import { defineProbe, local, replyLacks, seenIn } from "./probe.ts";

/** One UDP datagram; a reply, an ICMP port unreachable and silence are told apart. */
export const udp = defineProbe(
  z.strictObject({
    probe: z.literal("udp"),
    to: target,
    port,
    sourcePort: port.optional(),
    payload: z.string().optional(),
    reply: z.string().optional(),
  }),
  {
    singleFlow: () => true,
    watchesFlows: () => true,
    target: (s) => s.to,
    request: (s, run) => ({
      host: run.to,
      port: s.port,
      payload: s.payload,
      waitMs: run.waitMs,
      localPort: s.sourcePort ?? run.ports[0],
    }),
    check: (s, r) => replyLacks(s.reply, r),
    seenFrom: (r) => seenIn(r.facts?.received),
    describe: (s, to, r) => `UDP ${local(r)} -> ${hostPort(to, s.port)}`,
  },
);
