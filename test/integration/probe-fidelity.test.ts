import { beforeAll, describe, expect, it } from "vitest";
import type { StartedLab } from "../../src/index.ts";
import { runScenarios } from "../../src/scenarios/run-scenarios.ts";
import type { ScenarioResult, StepResult } from "../../src/scenarios/step-result.ts";
import { sharedLab } from "./shared-lab.ts";

// Issue 10: a probe sends exactly the traffic it names, so rulesets that count or limit new
// connections judge it as they would judge a real client; and the internet side speaks the
// protocols on its ports.
let lab: StartedLab;
beforeAll(async () => {
  lab = await sharedLab();
});

const run = async (file: string): Promise<ScenarioResult> =>
  (
    await runScenarios([`test/fixtures/scenarios/${file}`], {
      labName: lab.name,
      bundleDir: "test-results/bundles",
    })
  )[0]!;

const failures = (r: ScenarioResult) => [
  ...(r.error ? [r.error] : []),
  ...r.steps.filter((s) => !s.passed).map((s) => `${s.name}: ${s.reason}`),
];

describe("probes send exactly the traffic they name", () => {
  it("a ruleset that allows 3 new connections per source: the 4th ssh login and FTP session are dropped, by the rule", async () => {
    const r = await run("new-connection-limits.scenario.yml");
    expect(failures(r)).toEqual([]);
    const by = Object.fromEntries(r.steps.map((s) => [s.name, s]));
    expect(by["ssh 4"]!.detail).toMatch(
      /^dropped by fw filter FORWARD rule 2 \(-A FORWARD -p tcp -m tcp --dport 22 .*--hitcount 4 --name fwlab_ssh .*-j DROP\)/,
    );
    expect(by["ftp 4"]!.detail).toMatch(
      /^dropped by fw filter FORWARD rule 4 \(-A FORWARD .*--dport 21 .*-j DROP\)/,
    );
  });

  it("counted on the lan wire: one SYN per tcp, http, https, ssh and dns-over-tcp probe, one per FTP connection, count echoes", async () => {
    const capture = await lab.execStream("fw", [
      "tcpdump",
      "-i",
      "lan",
      "-n",
      "-l",
      "-tt",
      "--immediate-mode",
      "(tcp[tcpflags] & (tcp-syn|tcp-ack)) == tcp-syn or udp or icmp[icmptype] == icmp-echo",
    ]);
    const lines: { at: number; text: string }[] = [];
    let pending = "";
    capture.stdout.on("data", (b: Buffer) => {
      pending += b.toString();
      const parts = pending.split("\n");
      pending = parts.pop()!;
      for (const p of parts) lines.push({ at: Number(p.split(" ")[0]) * 1000, text: p });
    });
    let r: ScenarioResult;
    try {
      await new Promise((res) => setTimeout(res, 500)); // tcpdump listening
      r = await run("one-of-each.scenario.yml");
      await new Promise((res) => setTimeout(res, 300));
    } finally {
      await capture.stop();
    }
    expect(failures(r)).toEqual([]);
    const sent = (s: StepResult) => {
      const mine = lines.filter((l) => l.at >= s.startedAt - 5 && l.at <= s.startedAt + s.durationMs + 100);
      const count = (re: RegExp) => mine.filter((l) => re.test(l.text)).length;
      return {
        synOut: count(/ 10\.0\.1\.10\.\d+ > .*Flags \[S\]/),
        synIn: count(/ > 10\.0\.1\.10\.\d+: Flags \[S\]/),
        udpOut: count(/ 10\.0\.1\.10\.\d+ > .*(UDP|\d+\+)/),
        echo: count(/ 10\.0\.1\.10 > .*ICMP echo request/),
      };
    };
    const by = Object.fromEntries(r!.steps.filter((s) => s.kind === "probe").map((s) => [s.name, sent(s)]));
    const none = { synOut: 0, synIn: 0, udpOut: 0, echo: 0 };
    expect(by).toEqual({
      tcp: { ...none, synOut: 1 },
      http: { ...none, synOut: 1 },
      https: { ...none, synOut: 1 },
      ssh: { ...none, synOut: 1 },
      "ftp passive": { ...none, synOut: 3 }, // control, LIST's data, RETR's data
      "ftp active": { ...none, synOut: 1, synIn: 2 }, // control out; the server's two data connections in
      "dns udp": { ...none, udpOut: 1 },
      "dns tcp": { ...none, synOut: 1 },
      udp: { ...none, udpOut: 1 },
      "ping x3": { ...none, echo: 3 },
    });
  });
});

describe("the internet host", () => {
  it("answers HTTP (with /whoami), HTTPS, SSH, SMTP and UDP echo for real, seen through MASQUERADE", async () => {
    const r = await run("internet.scenario.yml");
    expect(failures(r)).toEqual([]);
    const whoami = r.steps.find((s) => s.name === "http /whoami shows fw's wan address")!;
    expect(whoami.evidence?.seenFrom).toBe("198.51.100.1");
  });
});

describe("a shell script of nft commands", () => {
  it("loads as one nft document and acts as the same ruleset in an nft file, LOG lines included", async () => {
    const r = await run("nft-commands.scenario.yml");
    expect(failures(r)).toEqual([]);
  });
});

describe("a script's ipsets", () => {
  it("are made in the firewall before its rules, hold its entries, and a later load empties them", async () => {
    const r = await run("ipset.scenario.yml");
    expect(failures(r)).toEqual([]);
  });
});

describe("an address a node has no route to", () => {
  it("is unreachable from the node itself, and the step says no packet left it", async () => {
    const r = await run("no-route.scenario.yml");
    expect(failures(r)).toEqual([]);
    for (const s of r.steps)
      expect(s.detail).toMatch(/this node has no route to 10\.0\.2\.\d+; the packet never left it/);
  });

  it("is the reason a request that got through heard nothing: the far end had no way back (a masqueraded one's answer dropped is decided at once)", async () => {
    const [step, , masqueraded] = (await run("no-way-back.scenario.yml")).steps;
    // Masqueraded, the answer goes to fw's own address, and fw's drop of it is the verdict.
    expect(masqueraded?.detail).toMatch(/^dropped by fw filter FORWARD rule 1 .*no client timeout waited$/);
    expect(masqueraded?.reason).toMatch(
      /observed timeout: TCP \S+ -> 198\.51\.100\.10:25 dropped by fw filter FORWARD rule 1$/,
    );
    expect(step?.reason).toMatch(
      /observed timeout: HTTP GET \S+ passed through fw, accepted by fw filter FORWARD policy ACCEPT; inet has no route back to 10\.0\.1\.10 \(.*unreachable\): without a firewall translating the source on the way \(SNAT, MASQUERADE\), its answer has nowhere to go$/,
    );
  });
});

describe("a scenario's sysctls", () => {
  it("are all put back when it ends, on the firewall and on any other node", async () => {
    const keys: [string, string][] = [
      ["fw", "net.netfilter.nf_conntrack_udp_timeout"],
      ["fw", "net.netfilter.nf_conntrack_tcp_timeout_time_wait"],
      ["fw", "net.ipv4.ip_default_ttl"],
      ["client", "net.ipv4.ip_default_ttl"],
    ];
    const read = () => Promise.all(keys.map(([n, k]) => lab.getSysctl(n, k)));
    const before = await read();
    const r = await run("sysctls.scenario.yml");
    expect(failures(r)).toEqual([]);
    expect(await read()).toEqual(before);
    expect(before).not.toContain("33"); // the scenario did change them
  });
});

describe("a classic DMZ script", () => {
  it("is played as its shell would run it, and its kernel settings hold in fw until the scenario ends", async () => {
    const keys = [
      "net.ipv4.icmp_echo_ignore_all",
      "net.ipv4.conf.all.rp_filter",
      "net.ipv4.conf.lan.rp_filter",
      "net.ipv4.conf.wan.rp_filter",
    ];
    const read = () => Promise.all(keys.map((k) => lab.getSysctl("fw", k)));
    const before = await read();
    expect(before.slice(0, 2)).toEqual(["0", "0"]);
    const r = await run("classic-dmz.scenario.yml");
    expect(failures(r)).toEqual([]);
    expect(await read()).toEqual(before);
  });

  it("an rc.firewall-style script: FTP both ways through an assigned helper, tcp-reset, LOG as packets die", async () => {
    expect(failures(await run("rc-firewall.scenario.yml"))).toEqual([]);
  });

  it("a Debian-style nftables router: port forward seen from the far side, masquerade, log-and-drop", async () => {
    expect(failures(await run("debian-router.scenario.yml"))).toEqual([]);
  });

  it("a wrong expectation on an nft ruleset names the rule that dropped or let the packet, counted or not, the hooked chain's policy, the server's own question that was dropped, or who reset", async () => {
    const r = await run("nft-wrong-expectation.scenario.yml");
    expect(
      r.steps.map((s) => s.reason?.replace(/^.*observed timeout: (TCP \S+|DNS UDP query \S+) -> \S+ /, "")),
    ).toEqual([
      "dropped by fw filter forward rule 7",
      undefined,
      "dropped by fw filter input policy DROP",
      undefined,
      expect.stringMatching(
        /^passed through fw, accepted by fw filter forward rule 4; meanwhile 10\.0\.2\.53 asked another host, and a firewall dropped that: UDP 10\.0\.2\.53:\d+ -> 198\.51\.100\.53:53 \(fw filter forward rule 7\)$/,
      ),
      expect.stringMatching(
        /observed refused: TCP \S+ -> 198\.51\.100\.10:4000 passed through fw, accepted by fw filter forward rule 5; no firewall refused it: 198\.51\.100\.10 answered with a reset itself \(nothing listens on tcp\/4000 there, or its own rules refuse it\)$/,
      ),
    ]);
  });

  it("a ping flood limit: how many of ten echoes came back, and none limited behind ESTABLISHED", async () => {
    const r = await run("ping-limit.scenario.yml");
    expect(failures(r)).toEqual([]);
    expect(r.steps[0]?.detail).toMatch(/^[234] of 10 echo replies from 10\.0\.1\.1$/);
  });

  it("an IPS's queue with no IPS: dropped, unless bypassed, and a failure names the queue", async () => {
    const r = await run("ips-queue.scenario.yml");
    expect(r.steps.map((s) => s.passed)).toEqual([true, true, false]);
    expect(r.steps[2]?.reason).toMatch(
      /-> 10\.0\.2\.80:80 queued by fw filter FORWARD rule 2 to a program, which did not give it back/,
    );
  });

  it("DNS through NOTRACK: untracked both ways, and a server's question that went out untranslated has no way back", async () => {
    const r = await run("notrack-dns.scenario.yml");
    expect(r.steps.map((s) => s.passed)).toEqual([true, true, false]);
    expect(r.steps[2]?.reason).toMatch(
      /observed timeout: .* passed through fw, accepted by fw filter FORWARD rule 2; meanwhile 10\.0\.2\.53 asked another host, and fw passed that on with its source untranslated: UDP 10\.0\.2\.53:\d+ -> 198\.51\.100\.53:53; extdns has no route back to 10\.0\.2\.53 \(.*\), so that answer has nowhere to go$/,
    );
  });

  it("OpenWrt's fw4: zones through jumps and verdict maps, the port forward, rejects", async () => {
    expect(failures(await run("openwrt-fw4.scenario.yml"))).toEqual([]);
  });

  it("a wrong expectation on fw4, beside other steps, names the rule its own packets met, counted or not", async () => {
    const r = await run("openwrt-fw4-wrong.scenario.yml");
    expect(
      r.steps.map((s) => s.reason?.replace(/^expected \w+, observed (\w+): .*? -> \S+ /, "$1: ")),
    ).toEqual([
      'ok: accepted by fw fw4 accept_to_wan rule 2 ("!fw4: accept wan IPv4/IPv6 traffic")',
      'ok: accepted by fw fw4 input_wan rule 2 ("!fw4: Allow-Ping")',
      'refused: rejected by fw fw4 handle_reject rule 1 ("!fw4: Reject TCP traffic")',
      'refused: rejected by fw fw4 handle_reject rule 2 ("!fw4: Reject any other traffic")',
      'refused: rejected by fw fw4 handle_reject rule 1 ("!fw4: Reject TCP traffic")',
    ]);
  });

  it("REJECT's every flavour, a dozen ICMP errors to one client within a second: each one heard", async () => {
    expect(failures(await run("reject-flavours.scenario.yml"))).toEqual([]);
  });

  it("the Arch wiki's stateful firewall: its scan trap gives the same port states every run", async () => {
    expect(failures(await run("arch-stateful.scenario.yml"))).toEqual([]);
  });

  it("a log level in capitals, as older scripts write it: refused at its line, saying what this iptables takes", async () => {
    const err = await lab
      .loadRuleset("fw", "test/fixtures/rulesets/log-level-caps.sh")
      .catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/line 2: .*DEBUG.* unknown .*--log-level debug\)/);
  });
});
