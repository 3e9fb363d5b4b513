import type { z } from "zod";
import type { AgentResult } from "./probe-agent.ts";
import type { Verdict } from "./verdict.ts";

/** The step keys every probe kind has: which kind, and (in its own schema) what it needs. */
export type ProbeSchema = z.ZodObject<{ probe: z.ZodLiteral<string> }>;

/** How fwlab runs one probe: its target as an address, how long the agent may wait, its ports. */
export interface ProbeRun {
  /** The target resolved to an address. */
  readonly to: string;
  /** How long the agent itself waits for an answer before it says `timeout`. */
  readonly waitMs: number;
  /** The step's own timeout (the scenario's `timeoutMs`, default 500). */
  readonly timeoutMs: number;
  /**
   * Source ports of fwlab's own range reserved for this probe: its first connection uses the
   * first, further ones (FTP's data connections) the next. No other socket uses them.
   */
  readonly ports: readonly number[];
  /**
   * The step checks whom the far side saw (`seenFrom`): a probe that can read the server's
   * answer without sending anything more does so.
   */
  readonly wantsAnswer: boolean;
}

/**
 * One probe kind: its step schema, how to ask a node's agent for it (the agent's handler is
 * images/common/usr/local/lib/fwlab/probes/<name>.js), and how to check what came back.
 */
export interface ProbeKind<S extends ProbeSchema = ProbeSchema> {
  readonly name: z.infer<S>["probe"];
  /** The step keys of this kind (besides the ones every step has), strict. */
  readonly schema: S;
  /**
   * Its traffic is one flow that is its own (its own source port): it may run beside other
   * such probes without taking their evidence. Not when the step counts what a rate limit let
   * through (ping's `replies`): probes beside it would share the limit.
   */
  singleFlow(step: z.infer<S>): boolean;
  /**
   * The verdict a step expects when it says none: a scan's outcome is its ports' states, so
   * `expect: ok` (nmap ran) goes without saying.
   */
  readonly expectByDefault?: Verdict;
  /**
   * Whether the agent announces its flows for fwlab to race against the firewalls' traces
   * (then the agent waits long, and fwlab decides silence); a scan does not.
   */
  watchesFlows(step: z.infer<S>): boolean;
  /** The target as the step writes it (a node, node:network, or an address). */
  target(step: z.infer<S>): string;
  request(step: z.infer<S>, run: ProbeRun): Record<string, unknown>;
  /** Mismatches beyond the verdict (answer, output, status, bytes, per-port states). */
  check(step: z.infer<S>, r: AgentResult): string[];
  /** The client address the far side reported, when the probe learns it. */
  seenFrom?(r: AgentResult): string | undefined;
  /** Why no address came back, and what would bring one (a `seenFrom` check's detail). */
  seenHow?(step: z.infer<S>): string;
  /** A one-line description of the packet, for failure reasons: "TCP 10.0.1.10:41234 -> 10.0.2.22:22". */
  describe(step: z.infer<S>, to: string, r: AgentResult): string;
}

export const defineProbe = <S extends ProbeSchema>(
  schema: S,
  def: Omit<ProbeKind<S>, "name" | "schema">,
): ProbeKind<S> => ({ name: schema.shape.probe.value as z.infer<S>["probe"], schema, ...def });

export const local = (r: AgentResult): string => String(r.facts?.local ?? "?");

/**
 * The fwlab services host and /whoami answer with "<client-ip>:<port>" or "<client-ip> <port>"
 * ("[<ipv6>]:<port>" or "<ipv6> <port>" for an IPv6 client).
 */
export const seenIn = (text: unknown): string | undefined => {
  const t = String(text ?? "");
  return (
    /(\d+\.\d+\.\d+\.\d+)[: ]\d+/.exec(t)?.[1] ??
    /\[([0-9a-f:]+)\]:\d+/.exec(t)?.[1] ??
    /(?:^|\s)([0-9a-f]*:[0-9a-f:]+) \d+/.exec(t)?.[1]
  );
};

/** The mismatch when a server's answer lacks the expected text (tcp and udp probes). */
export function replyLacks(want: string | undefined, r: AgentResult): string[] {
  const got = String(r.facts?.received ?? "");
  return want !== undefined && r.verdict === "ok" && !got.includes(want)
    ? [`reply ${JSON.stringify(got)} lacks ${JSON.stringify(want)}`]
    : [];
}
