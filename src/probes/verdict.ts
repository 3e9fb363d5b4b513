/**
 * What a probe observed, in words a student understands:
 *  ok          it worked
 *  timeout     nothing came back: the packet was dropped somewhere
 *  refused     a TCP reset or an ICMP port-unreachable came back (e.g. REJECT, or no server)
 *  unreachable another ICMP error came back (host-prohibited, net-unreachable, ...)
 *  error       the probe itself could not run: never a firewall verdict
 */
export const VERDICTS = ["ok", "timeout", "refused", "unreachable", "error"] as const;
export type Verdict = (typeof VERDICTS)[number];
