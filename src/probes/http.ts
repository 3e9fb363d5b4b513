import { z } from "zod";
import { port, target } from "./params.ts";
import { defineProbe, seenIn } from "./probe.ts";

const url = (s: { https?: boolean; port?: number; path?: string }, to: string) =>
  `${s.https ? "https" : "http"}://${to.includes(":") ? `[${to}]` : to}${s.port ? `:${s.port}` : ""}${s.path ?? "/"}`;

/** One HTTP(S) GET with curl over one connection. */
export const http = defineProbe(
  z.strictObject({
    probe: z.literal("http"),
    to: target,
    port: port.optional(),
    https: z.boolean().optional(),
    path: z.string().optional(),
    status: z.number().int().optional(),
    body: z.string().optional().describe("a substring the body must contain"),
  }),
  {
    singleFlow: () => true,
    watchesFlows: () => true,
    target: (s) => s.to,
    request: (s, run) => ({
      host: run.to,
      port: s.port,
      https: s.https,
      path: s.path,
      waitMs: run.waitMs,
      localPort: run.ports[0],
    }),
    check: (s, r) => {
      if (r.verdict !== "ok") return [];
      const out: string[] = [];
      const status = Number(r.facts?.status);
      if (s.status !== undefined && status !== s.status) out.push(`status ${status}, expected ${s.status}`);
      const body = String(r.facts?.body ?? "");
      if (s.body !== undefined && !body.includes(s.body))
        out.push(`body ${JSON.stringify(body.slice(0, 80))} lacks ${JSON.stringify(s.body)}`);
      return out;
    },
    seenFrom: (r) => seenIn(r.facts?.body),
    // A page says who asked only where the server was made to: fwlab's web and services hosts
    // at /whoami. A step asserting it on another path is told, not left with "saw nothing".
    seenHow: (s) =>
      s.path === "/whoami"
        ? "the answer to GET /whoami named no address"
        : `GET ${s.path ?? "/"} does not say who asked; fwlab's web and services hosts answer GET /whoami with it (path: /whoami)`,
    describe: (s, to) => `HTTP${s.https ? "S" : ""} GET ${url(s, to)}`,
  },
);
