import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { InputError } from "../../src/errors.ts";
import { counterDeltas, parseCounters } from "../../src/evidence/counters.ts";
import { probeKind } from "../../src/probes/index.ts";
import { ping } from "../../src/probes/ping.ts";
import type { AgentResult } from "../../src/probes/probe-agent.ts";
import { checkEvidence } from "../../src/scenarios/check-evidence.ts";
import { decidingRule } from "../../src/scenarios/explain.ts";
import { findScenarios } from "../../src/scenarios/find-scenarios.ts";
import { readScenarioFile } from "../../src/scenarios/read-scenario-file.ts";
import { junitReport, summarize } from "../../src/scenarios/reports.ts";
import { scenarioJsonSchema } from "../../src/scenarios/scenario-json-schema.ts";
import { movedCounter } from "../support/moved-counter.ts";
import { scratchDir } from "../support/scratch-dir.ts";
import { traceLine } from "../support/trace-line.ts";

/** A scenario of the default lab with these steps (YAML lines under `steps:`), read as `fwlab run` reads it. */
const stepsDir = scratchDir("steps");
const readSteps = (steps: string) => {
  const f = join(stepsDir, "s.scenario.yml");
  writeFileSync(f, `name: s\nlab: ${resolve("docker-compose.yml")}\nsteps:\n${steps}`);
  return readScenarioFile(f);
};

describe("scenario files", () => {
  const dir = scratchDir("scenario-files");
  it("the published JSON Schema is the one the runner validates with (npm run schema)", () => {
    expect(readFileSync("scenarios/scenario.schema.json", "utf8")).toBe(scenarioJsonSchema());
  });

  it("every scenario of the seed pack reads and checks against its lab", () => {
    const files = findScenarios("scenarios");
    expect(files.length).toBeGreaterThanOrEqual(9);
    for (const f of files) expect(() => readScenarioFile(f), f).not.toThrow();
  });

  it("several paths (a shell's glob) run in the order given, each file once", () => {
    const one = "scenarios/seed-000/stateless.scenario.yml";
    const files = findScenarios([one, "scenarios/seed-001", one]);
    expect(files[0]).toBe(resolve(one));
    expect(files.filter((f) => f === resolve(one))).toHaveLength(1);
    expect(files.slice(1).every((f) => f.includes("/scenarios/seed-001/"))).toBe(true);
    expect(() => findScenarios([one, "no-such-folder"])).toThrow(/no-such-folder: no such file/);
  });

  it("reads what users write: an unquoted `technique: null` is the NULL scan, not YAML's empty value; a load loads", () => {
    const [scan, load] = readSteps(
      `  - name: s\n    probe: scan\n    from: client\n    to: fw\n    technique: null\n    ports: { "22": "open|filtered" }\n  - { name: l, load: { node: fw, file: ${resolve("test/fixtures/rulesets/open.sh")} } }\n`,
    ).scenario.steps;
    expect(scan).toMatchObject({ technique: "null" });
    expect(load).toMatchObject({ expect: "loads" });
  });

  it("a log order names each prefix once", () => {
    expect(() =>
      readSteps(
        `  - name: s\n    probe: ping\n    from: client\n    to: web\n    expect: ok\n    evidence: { logOrder: { node: fw, prefixes: ["in ", in] } }\n`,
      ),
    ).toThrow(/prefixes: each prefix once/);
  });

  it("a host name where a node goes: which node it is, or what a name is for", () => {
    const step = (to: string) => () =>
      readSteps(`  - { name: s, probe: tcp, from: client, to: ${to}, port: 80, expect: ok }\n`);
    expect(step("web.lab")).toThrow(
      /"web\.lab" is a host name; a step names the node \("web"\) or an address/,
    );
    expect(step("www.example.com")).toThrow(
      /unknown node "www\.example\.com".*a name is what a dns step asks for\)/,
    );
    expect(step("web")).not.toThrow();
  });

  it("an exec step's command: its words, or one line for sh -c (as Compose's command: takes either)", () => {
    const dir = mkdtempSync(join(tmpdir(), "fwlab-exec-"));
    const f = join(dir, "s.scenario.yml");
    writeFileSync(
      f,
      [
        "name: exec",
        `lab: ${resolve("docker-compose.yml")}`,
        "setup: { fw: { commands: [[ip, route], 'echo 1 > /dev/null'] } }",
        "steps:",
        "  - { name: words, exec: { node: fw, command: [ip, route] } }",
        '  - { name: line, exec: { node: fw, command: "iptables -L INPUT -n | head -1" } }',
        "",
      ].join("\n"),
    );
    try {
      const s = readScenarioFile(f).scenario;
      const commands = s.steps.map((x) => ("exec" in x ? x.exec.command : []));
      expect(commands).toEqual([
        ["ip", "route"],
        ["sh", "-c", "iptables -L INPUT -n | head -1"],
      ]);
      expect(s.setup?.fw?.commands).toEqual([
        ["ip", "route"],
        ["sh", "-c", "echo 1 > /dev/null"],
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a scan expects ok unless it says otherwise (its ports' states are the check); other probes must say", () => {
    const write = (step: string) => {
      const f = join(dir, `${Math.random().toString(36).slice(2)}.scenario.yml`);
      writeFileSync(
        f,
        ["name: scan", `lab: ${resolve("docker-compose.yml")}`, "steps:", `  - ${step}`, ""].join("\n"),
      );
      return f;
    };
    const scan = readScenarioFile(
      write('{ name: s, probe: scan, from: client, to: web, technique: syn, ports: { "80": open } }'),
    ).scenario.steps[0];
    expect(scan && "expect" in scan ? scan.expect : undefined).toBe("ok");
    expect(() => readScenarioFile(write("{ name: t, probe: tcp, from: client, to: web, port: 80 }"))).toThrow(
      /missing "expect"/,
    );
  });

  it("a folder without scenarios is an input error", () => {
    expect(() => findScenarios("src")).toThrow(InputError);
  });
});

const d = movedCounter;

describe("explain", () => {
  it("names the rule whose counter moved, or the policy", () => {
    expect(
      decidingRule({
        fw: [
          {
            table: "filter",
            chain: "INPUT",
            rule: 3,
            spec: "-p tcp -m tcp --dport 22 -j ACCEPT",
            packets: 1,
            bytes: 60,
          },
        ],
      }),
    ).toBe("accepted by fw filter INPUT rule 3");
    expect(
      decidingRule({
        fw: [{ table: "filter", chain: "FORWARD", spec: "policy DROP", packets: 2, bytes: 120 }],
      }),
    ).toBe("dropped by fw filter FORWARD policy DROP");
  });

  it("follows jumps into user chains, as the packet went (ufw's INPUT only jumps)", () => {
    const cases: [why: string, moved: ReturnType<typeof d>[], named: string][] = [
      [
        "ufw: the first packet's rule, not the ESTABLISHED one, not OUTPUT's policy (the answer's)",
        [
          d("INPUT", 1, "-j ufw-before-input"),
          d("ufw-before-input", 2, "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"),
          d("ufw-before-input", 9, "-j ufw-user-input"),
          d("ufw-user-input", 1, "-p tcp -m tcp --dport 22 -m recent --set --name DEFAULT"),
          d("ufw-user-input", 3, "-p tcp -m tcp --dport 22 -j ufw-user-limit-accept"),
          d("ufw-user-limit-accept", 1, "-j ACCEPT"),
          d("OUTPUT", undefined, "policy ACCEPT"),
        ],
        "accepted by fw filter ufw-user-limit-accept rule 1",
      ],
      [
        "a chain that hands the packet back (RETURN, or its end): on in the caller, then the policy",
        [
          d("FORWARD", 1, "-j CHECK"),
          d("CHECK", 1, "-p icmp -j RETURN"),
          d("FORWARD", undefined, "policy DROP"),
        ],
        "dropped by fw filter FORWARD policy DROP",
      ],
      [
        "only the later packets' rule moved (the first was let in before the step): it is named",
        [d("FORWARD", 1, "-m state --state ESTABLISHED,RELATED -j ACCEPT")],
        "accepted by fw filter FORWARD rule 1",
      ],
    ];
    for (const [why, moved, named] of cases) expect(decidingRule({ fw: moved }), why).toBe(named);
  });

  it("walks an nft ruleset from its hooked filter chains, through the rules that count", () => {
    // The Debian-router fixture with counters, as parsed from nft's listing: jumps, a vmap-less
    // zone chain, a log prefix that says "drop" without dropping.
    const listing = parseCounters(`table inet filter {
\tchain input {
\t\ttype filter hook input priority filter; policy drop;
\t\tct state established,related counter packets 9 bytes 900 accept
\t\tiifname "wan" counter packets 1 bytes 60 jump wan_in
\t\tcounter packets 1 bytes 60 log prefix "input drop: "
\t}
\tchain wan_in {
\t\ttcp dport 22 counter packets 1 bytes 60 drop comment "no ssh from the wan"
\t}
\tchain forward {
\t\ttype filter hook forward priority filter; policy drop;
\t\tct state { established, related } counter packets 3 bytes 180 accept
\t\tiifname "lan" oifname "dmz" tcp dport 80 counter packets 1 bytes 60 accept
\t\tlog prefix "fwd-drop " counter packets 2 bytes 120 drop
\t}
}
`);
    const moved = counterDeltas([], listing);
    expect(decidingRule({ fw: moved.filter((d) => d.chain !== "forward") }, "stopped")).toBe(
      'dropped by fw filter wan_in rule 1 ("no ssh from the wan")',
    );
    const forward = moved.filter((d) => d.chain === "forward");
    expect(decidingRule({ fw: forward }, "through")).toBe("accepted by fw filter forward rule 2");
    expect(decidingRule({ fw: forward }, "stopped")).toBe("dropped by fw filter forward rule 3");
    // A hooked chain's counted rules that decided nothing: its policy (nft counts none).
    const logOnly = moved.filter((d) => d.chain === "input" && d.rule === 3);
    expect(decidingRule({ fw: logOnly }, "stopped")).toBe("dropped by fw filter input policy drop");
    // Only the later packets' rule counted: it is named, as with iptables.
    expect(decidingRule({ fw: forward.filter((d) => d.rule === 1) })).toBe(
      "accepted by fw filter forward rule 1",
    );
  });

  it("names a rule of the kind the probe met: the answer's drop when the first packet got in", () => {
    // Shorewall-style zone pairs with no chain for the way back: the SYN is let in by loc2dmz,
    // the SYN/ACK falls to FORWARD's last rule and is logged and dropped.
    const noWayBack = [
      d("FORWARD", 1, "-i lan -o dmz -j loc2dmz"),
      d("loc2dmz", 2, "-p tcp -m multiport --dports 22,80,443 -j ACCEPT"),
      d("FORWARD", 5, "-j logdrop"),
      d("logdrop", 1, '-j LOG --log-prefix "Shorewall:logdrop:DROP:"'),
      d("logdrop", 2, "-j DROP"),
    ];
    expect(decidingRule({ fw: noWayBack }, "stopped")).toBe("dropped by fw filter logdrop rule 2");
    expect(decidingRule({ fw: noWayBack }, "through")).toBe("accepted by fw filter loc2dmz rule 2");
    expect(decidingRule({ fw: noWayBack })).toBe("accepted by fw filter loc2dmz rule 2");
    // Nothing of the kind moved: the rule that did is still named.
    const accepted = [d("INPUT", 1, "-p tcp --dport 22 -j ACCEPT")];
    expect(decidingRule({ fw: accepted }, "stopped")).toBe("accepted by fw filter INPUT rule 1");
    // A policy counts as a rule of its kind.
    const policyDrop = [d("FORWARD", 1, "-p icmp -j ACCEPT"), d("FORWARD", undefined, "policy DROP")];
    expect(decidingRule({ fw: policyDrop }, "stopped")).toBe("dropped by fw filter FORWARD policy DROP");
  });
});

describe("reports", () => {
  const step = (passed: boolean) => ({
    index: 0,
    name: 'a "quoted" <step>',
    kind: "probe" as const,
    expected: "ok",
    observed: passed ? "ok" : "timeout",
    passed,
    reason: passed ? undefined : "expected ok, observed timeout: TCP a -> b",
    detail: "",
    durationMs: 12,
    checks: [],
    startedAt: 0,
  });
  const results = [
    {
      file: "x.scenario.yml",
      name: "s & t",
      lab: "fwlab",
      steps: [step(true), step(false)],
      passed: false,
      durationMs: 30,
    },
  ];
  it("counts passed and failed steps", () => {
    expect(summarize(results)).toMatchObject({ passed: 1, failed: 1, scenarios: 1 });
    // The run's own time when known (labs side by side with --jobs), not its scenarios' sum.
    expect(summarize(results, 1234).durationMs).toBe(1234);
  });
  it("writes JUnit XML with escaped names and the one-line reason as the failure message", () => {
    const xml = junitReport(results);
    expect(xml).toContain('<testsuite name="s &amp; t" tests="2" failures="1"');
    expect(xml).toContain('name="a &quot;quoted&quot; &lt;step&gt;"');
    expect(xml).toContain('<failure message="expected ok, observed timeout: TCP a -&gt; b">');
  });
});

describe("ping", () => {
  const result = (received?: number): AgentResult =>
    received === undefined
      ? { verdict: "timeout", detail: "", durationMs: 1 }
      : { verdict: "ok", detail: "", durationMs: 1, facts: { received } };
  const check = (replies: number | { min?: number; max?: number } | undefined, received?: number) =>
    ping.check({ probe: "ping", to: "fw", count: 10, replies }, result(received));

  it("counts the echo replies a rate limit let through: a number, or a range", () => {
    expect(check(undefined, 10)).toEqual([]);
    expect(check({ min: 2, max: 3 }, 3)).toEqual([]);
    expect(check({ min: 2, max: 3 }, 10)).toEqual(["10 echo replies of 10, expected 2-3"]);
    expect(check(4, 1)).toEqual(["1 echo reply of 10, expected 4"]);
    expect(check({ max: 0 })).toEqual([]); // a timeout: none came back
    expect(check({ max: 1 }, 3)).toEqual(["3 echo replies of 10, expected 0-1"]);
    expect(check({ min: 1 })).toEqual(["0 echo replies of 10, expected at least 1"]);
  });

  it("a ping that counts replies runs alone: pings beside it would share the limit", () => {
    expect(ping.singleFlow({ probe: "ping", to: "fw" })).toBe(true);
    expect(ping.singleFlow({ probe: "ping", to: "fw", count: 10, replies: 3 })).toBe(false);
  });
});

describe("checkEvidence", () => {
  const line = (src: string, spt: number, dst: string, dpt: number) =>
    ({
      kind: "packet-log",
      source: "LOG",
      lab: "l",
      node: "fw",
      prefix: "st-new",
      fields: { src, spt, dst, dpt, proto: "TCP" },
      time: 1,
    }) as const;
  const traced = traceLine(
    { verdict: "DROP" },
    { dst: "10.0.2.80", sport: 48652, dport: 80, flags: ["ACK"] },
  );
  const want = { log: [{ node: "fw", prefix: "st-new", count: 0 }] };
  const other = line("10.0.2.21", 20, "10.0.1.10", 62725); // an earlier FTP data connection's SYN, late

  it("an absence of lines is about the step's own packets, when its trace tells them", () => {
    const got = { logs: [other], conntrack: [], counters: {} };
    expect(checkEvidence(want, { ...got, trace: [traced] })[0]?.ok).toBe(true);
    // Its own packet logged: not absent.
    expect(
      checkEvidence(want, {
        ...got,
        logs: [other, line("10.0.1.10", 48652, "10.0.2.80", 80)],
        trace: [traced],
      })[0]?.ok,
    ).toBe(false);
    // No trace to tell by: every line counts.
    expect(checkEvidence(want, { ...got, trace: [] })[0]?.ok).toBe(false);
  });

  it('a log line of any prefix when the step names none; "" for a LOG rule that set none', () => {
    const bare = { ...line("10.0.1.10", 48652, "10.0.2.80", 80), prefix: "" };
    const got = { logs: [bare], conntrack: [], counters: {} };
    const ok = (log: { node: string; prefix?: string; count?: number }) =>
      checkEvidence({ log: [log] }, got)[0]?.ok;
    expect(ok({ node: "fw" })).toBe(true);
    expect(ok({ node: "fw", prefix: "" })).toBe(true);
    expect(ok({ node: "fw", prefix: "st-new" })).toBe(false);
    expect(ok({ node: "web" })).toBe(false);
    expect(checkEvidence({ log: [{ node: "fw", count: 1 }] }, got)[0]?.what).toBe(
      "log (any prefix) on fw x1",
    );
  });

  it("seenFrom with no address back says why and what would bring one (http at / has none)", () => {
    const got = { logs: [], conntrack: [], counters: {} };
    const http = probeKind({ probe: "http" });
    const detail = (path?: string) => {
      const step = { probe: "http", to: "inet", ...(path ? { path } : {}) };
      return checkEvidence({ seenFrom: "198.51.100.1" }, { ...got, seenHow: http.seenHow?.(step) })[0]
        ?.detail;
    };
    expect(detail()).toBe(
      "saw nothing: GET / does not say who asked; fwlab's web and services hosts answer GET /whoami with it (path: /whoami)",
    );
    expect(detail("/whoami")).toBe("saw nothing: the answer to GET /whoami named no address");
    const tcp = probeKind({ probe: "tcp" });
    const connectOnly = { probe: "tcp", to: "inet", port: 25 };
    expect(tcp.seenHow?.(connectOnly)).toContain("the probe sent nothing");
    const withSend = { ...connectOnly, send: "EHLO client\r\n" };
    expect(tcp.seenHow?.(withSend)).toBe("its answer named no address");
    expect(checkEvidence({ seenFrom: "198.51.100.1" }, { ...got, seenFrom: "10.0.1.10" })[0]?.detail).toBe(
      "saw 10.0.1.10",
    );
  });

  it("a counter on an nft rule nft keeps no count of fails, saying why, even when 0 was asked", () => {
    const rule = {
      table: "filter",
      chain: "forward",
      rule: 2,
      spec: "ct state invalid drop",
      packets: 0,
      bytes: 0,
    };
    const got = (uncounted: boolean) => ({
      logs: [],
      conntrack: [],
      counters: { fw: [{ ...rule, ...(uncounted ? { uncounted: true as const } : {}) }] },
    });
    const want = { counters: [{ node: "fw", table: "filter", chain: "forward", rule: 2, packets: 0 }] };
    expect(checkEvidence(want, got(false))[0]).toMatchObject({ ok: true, detail: "+0 packets" });
    expect(checkEvidence(want, got(true))[0]).toMatchObject({
      ok: false,
      detail: "nft keeps no count of this rule (ct state invalid drop): add a `counter` statement to it",
    });
  });
});
