import { z } from "zod";
import { hostPort, port, target } from "./params.ts";
import { defineProbe, local, replyLacks, seenIn } from "./probe.ts";

/** One TCP connection; with `send`, the server's answer is read (until it holds `reply`). */
export const tcp = defineProbe(
  z.strictObject({
    probe: z.literal("tcp"),
    to: target,
    port,
    sourcePort: port.optional(),
    send: z.string().optional(),
    reply: z.string().optional().describe("a substring the server's answer must contain"),
  }),
  {
    singleFlow: true,
    watchesFlows: () => true,
    target: (s) => s.to,
    request: (s, run) => ({
      host: run.to,
      port: s.port,
      send: s.send ?? (s.reply ? "\n" : undefined),
      expect: s.reply,
      waitMs: run.waitMs,
      localPort: s.sourcePort ?? run.ports[0],
    }),
    check: (s, r) => replyLacks(s.reply, r),
    seenFrom: (r) => seenIn(r.facts?.received),
    // Without send or reply the probe connects and reads nothing back: nothing to tell by.
    seenHow: (s) =>
      s.send === undefined && s.reply === undefined
        ? "the probe reads the far side's answer only with send or reply; fwlab's services host names who connected in its answer (reply: \"220\")"
        : "its answer named no address",
    describe: (s, to, r) => `TCP ${local(r)} -> ${hostPort(to, s.port)}`,
  },
);
