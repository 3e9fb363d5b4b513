import type { ProbeStep } from "../scenarios/scenario-schema.ts";
import type { AgentResult } from "./probe-agent.ts";

/** What one probe kind knows: how to ask the agent, and how to check what came back. */
export interface Probe<S extends ProbeStep = ProbeStep> {
  /**
   * The agent request for this step, with its target already resolved to an address and the
   * source port fwlab chose for it (probes that can bind one do, so its packets are its own).
   */
  request(step: S, to: string, timeoutMs: number, sourcePort: number): Record<string, unknown>;
  /**
   * The flow whose first packet decides the probe: a firewall seen dropping it means `timeout`
   * at once. Undefined where one dropped packet does not decide (several pings, scans, FTP's
   * second connection).
   */
  flow?(step: S, to: string, sourcePort: number): ProbeFlow | undefined;
  /** Mismatches beyond the verdict (answer, output, status, bytes, per-port states). */
  check(step: S, r: AgentResult): string[];
  /** The client address the far side reported, when the probe learns it. */
  seenFrom?(r: AgentResult): string | undefined;
  /** A one-line description of the packet, for failure reasons: "TCP 10.0.1.10:41234 -> 10.0.2.22:22". */
  describe(step: S, to: string, r: AgentResult): string;
}

export interface ProbeFlow {
  readonly proto: "tcp" | "udp" | "icmp";
  readonly dst: string;
  readonly sport?: number;
  readonly dport?: number;
}

export const local = (r: AgentResult): string => String(r.facts?.local ?? "?");

/** The fwlab services host and /whoami answer with "<client-ip>:<port>" or "<client-ip> <port>". */
export const seenIn = (text: unknown): string | undefined =>
  /(\d+\.\d+\.\d+\.\d+)[: ]\d+/.exec(String(text ?? ""))?.[1];

/** The mismatch when a server's answer lacks the expected text (tcp and udp probes). */
export function replyLacks(want: string | undefined, r: AgentResult): string[] {
  const got = String(r.facts?.received ?? "");
  return want !== undefined && r.verdict === "ok" && !got.includes(want)
    ? [`reply ${JSON.stringify(got)} lacks ${JSON.stringify(want)}`]
    : [];
}
