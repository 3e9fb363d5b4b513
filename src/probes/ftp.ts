import { z } from "zod";
import { hostPort, target } from "./params.ts";
import { defineProbe } from "./probe.ts";

const HELLO = "hello from the fwlab ftp server\n";

/** One FTP session: one control connection, LIST and RETR each over a data connection. */
export const ftp = defineProbe(
  z.strictObject({
    probe: z.literal("ftp"),
    to: target,
    mode: z.enum(["passive", "active"]),
    user: z.string().optional(),
    password: z.string().optional(),
    file: z.string().optional().describe("path to RETR (default files/hello.txt)"),
    content: z.string().optional().describe("the file's exact content"),
  }),
  {
    singleFlow: () => false,
    watchesFlows: () => true,
    target: (s) => s.to,
    request: (s, run) => ({
      host: run.to,
      user: s.user ?? "student",
      password: s.password ?? "student",
      path: s.file ?? "files/hello.txt",
      mode: s.mode,
      waitMs: run.waitMs,
      localPort: run.ports[0],
      dataPorts: run.ports.slice(1, 3),
    }),
    check: (s, r) => {
      if (r.verdict !== "ok") return [];
      const want = s.content ?? (s.file ? undefined : HELLO);
      const got = String(r.facts?.content ?? "");
      return want !== undefined && got !== want
        ? [`RETR gave ${JSON.stringify(got.slice(0, 80))}, expected ${JSON.stringify(want)}`]
        : [];
    },
    describe: (s, to) => `FTP ${s.mode} -> ${hostPort(to, 21)}`,
  },
);
