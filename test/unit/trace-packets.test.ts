import { describe, expect, it } from "vitest";
import { orphanTraceRules } from "../../src/evidence/trace-packets.ts";

// `iptables-nft -t raw -S` of a firewall with a user rule and trace rules of three fwlab
// processes: one running (pid 100), one gone (pid 200), and one of a version that did not sign.
const SAVE = `-P PREROUTING ACCEPT
-P OUTPUT ACCEPT
-A PREROUTING -p tcp -m tcp --dport 22 -m comment --comment fwlab-trace:lab-host:100:1 -j TRACE
-A PREROUTING -p icmp -m comment --comment fwlab-trace:lab-host:200:3 -j TRACE
-A OUTPUT -p icmp -m comment --comment fwlab-trace:lab-host:200:3 -j TRACE
-A PREROUTING -s 10.0.1.10/32 -m comment --comment fwlab-trace -j TRACE
-A PREROUTING -p udp -m comment --comment "a user's own rule" -j CT --notrack
`;

describe("orphanTraceRules", () => {
  it("removes the trace rules of gone and unsigned fwlab processes, never a running one's or the user's", () => {
    const alive = (owner: string) => owner === "lab-host:100";
    expect(orphanTraceRules(SAVE, alive).map((argv) => argv.join(" "))).toEqual([
      "-D PREROUTING -p icmp -m comment --comment fwlab-trace:lab-host:200:3 -j TRACE",
      "-D OUTPUT -p icmp -m comment --comment fwlab-trace:lab-host:200:3 -j TRACE",
      "-D PREROUTING -s 10.0.1.10/32 -m comment --comment fwlab-trace -j TRACE",
    ]);
  });
});
