import { z } from "zod";
import { hostPort, port, target } from "./params.ts";
import { defineProbe, local, replyLacks, seenIn } from "./probe.ts";

/**
 * One TCP connection. With `send`, that is written and the server's answer read (until it holds
 * `reply`); with `reply` or a `seenFrom` check alone, the server's greeting is read and nothing is
 * sent: a server that waits for the client to speak first needs `send`.
 */
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
    singleFlow: () => true,
    watchesFlows: () => true,
    target: (s) => s.to,
    request: (s, run) => ({
      host: run.to,
      port: s.port,
      send: s.send,
      expect: s.reply,
      read: s.send !== undefined || s.reply !== undefined || run.wantsAnswer,
      waitMs: run.waitMs,
      localPort: s.sourcePort ?? run.ports[0],
    }),
    check: (s, r) => replyLacks(s.reply, r),
    seenFrom: (r) => seenIn(r.facts?.received),
    seenHow: (s) =>
      s.send === undefined
        ? "its greeting named no address (the probe sent nothing: a server that waits for the client to speak first needs `send`)"
        : "its answer named no address",
    describe: (s, to, r) => `TCP ${local(r)} -> ${hostPort(to, s.port)}`,
  },
);
