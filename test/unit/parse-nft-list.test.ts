import { describe, expect, it } from "vitest";
import { counterDeltas, parseCounters } from "../../src/evidence/counters.ts";
import { parseNftList } from "../../src/firewall/parse-nft-list.ts";

// `nft -a list ruleset` of a ruleset with counters, a named counter, a set whose elements span
// lines, comments, and fwlab's own trace table (nft 1.0.6, as a firewall node prints it).
const LISTING = `table inet filter { # handle 7
	counter web-hits { # handle 3
		packets 5 bytes 300
	}

	set blackhole { # handle 4
		type ipv4_addr
		flags dynamic,timeout
		elements = { 198.51.100.10 timeout 1m expires 59s,
			     198.51.100.53 timeout 1m expires 30s }
	}

	chain input { # handle 1
		type filter hook input priority filter; policy drop;
		ct state established,related accept # handle 8
		ip saddr @blackhole counter packets 2 bytes 120 drop # handle 9
		tcp dport 22 accept comment "ssh { from anywhere }" # handle 10
	}

	chain forward { # handle 2
		type filter hook forward priority filter; policy drop;
		iifname "lan" oifname "dmz" tcp dport { 80, 443 } counter name "web-hits" accept # handle 11
		log prefix "fwd-drop " counter packets 1 bytes 60 drop # handle 12
	}
}
table inet fwlab_trace { # handle 9
	chain pre { # handle 1
		type filter hook prerouting priority -350; policy accept;
		meta nftrace set 1 # handle 2
	}
}
`;

describe("parseNftList", () => {
  it("numbers rules by position, counts what has a counter, and leaves fwlab's table out", () => {
    const tables = parseNftList(LISTING);
    expect(tables.map((t) => `${t.nftFamily} ${t.name}`)).toEqual(["inet filter"]);
    const [input, forward] = tables[0]!.chains;
    expect(input!.name).toBe("input");
    expect(input!.rules.map((r) => [r.num, r.packets, r.uncounted ?? false])).toEqual([
      [1, 0, true],
      [2, 2, false],
      [3, 0, true],
    ]);
    expect(input!.rules[1]!.spec).toBe("ip saddr @blackhole counter drop");
    expect(input!.rules[2]!.comment).toBe("ssh { from anywhere }");
    // A named counter's values, on the rule that counts into it.
    expect(forward!.rules[0]).toMatchObject({ num: 1, packets: 5, bytes: 300 });
    expect(forward!.rules[0]!.uncounted).toBeUndefined();
    expect(forward!.rules[1]).toMatchObject({
      num: 2,
      packets: 1,
      spec: 'log prefix "fwd-drop " counter drop',
    });
  });

  it("is what a node's save gives for an nft ruleset; deltas match rules across readings", () => {
    const before = parseCounters(LISTING);
    const after = parseCounters(LISTING.replace("packets 1 bytes 60", "packets 4 bytes 240"));
    const moved = counterDeltas(before, after).filter((d) => d.packets !== 0);
    expect(moved).toEqual([
      expect.objectContaining({ table: "filter", chain: "forward", rule: 2, packets: 3, bytes: 180 }),
    ]);
    // iptables-save output still goes to its own parser.
    expect(parseCounters("*filter\n:INPUT DROP [3:180]\nCOMMIT\n")[0]!.chains[0]!.policy).toBe("DROP");
  });
});
