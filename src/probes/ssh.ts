import { z } from "zod";
import { hostPort, port, target } from "./params.ts";
import { defineProbe } from "./probe.ts";

/** An SSH login (OpenSSH's client) over exactly one TCP connection, running a command. */
export const ssh = defineProbe(
  z.strictObject({
    probe: z.literal("ssh"),
    to: target,
    port: port.optional(),
    user: z.string().optional(),
    auth: z.enum(["key", "password"]).optional(),
    password: z.string().optional(),
    command: z.string().optional(),
    output: z.string().optional().describe("a substring the command's output must contain"),
  }),
  {
    // Its one connection is its own, but a login is slow enough not to batch.
    singleFlow: () => false,
    watchesFlows: () => true,
    target: (s) => s.to,
    request: (s, run) => ({
      host: run.to,
      port: s.port ?? 22,
      user: s.user ?? "student",
      auth: s.auth ?? "key",
      password: s.password ?? "student",
      command: s.command ?? "echo fwlab-ssh-ok",
      waitMs: run.waitMs,
      localPort: run.ports[0],
    }),
    check: (s, r) => {
      if (r.verdict !== "ok") return [];
      const out = String(r.facts?.output ?? "");
      const want = s.output ?? (s.command ? undefined : "fwlab-ssh-ok");
      return want !== undefined && !out.includes(want)
        ? [`output ${JSON.stringify(out.trim())} lacks ${JSON.stringify(want)}`]
        : [];
    },
    seenFrom: (r) => /(\d+\.\d+\.\d+\.\d+) \d+ \d+/.exec(String(r.facts?.output ?? ""))?.[1],
    describe: (s, to) => `SSH -> ${hostPort(to, s.port ?? 22)}`,
  },
);
