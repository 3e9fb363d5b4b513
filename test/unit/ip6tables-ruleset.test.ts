import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type FwlabError, InputError } from "../../src/errors.ts";
import { loadRuleset } from "../../src/firewall/load-ruleset.ts";
import { findChain, parseSave } from "../../src/firewall/parse-save.ts";
import { handleKey, parseListing, ruleHandles } from "../../src/firewall/rule-handles.ts";
import { checkRulesetFile } from "../../src/firewall/ruleset-file.ts";
import { detectRulesetFamily, detectRulesetFormat } from "../../src/firewall/ruleset-format.ts";
import { ScriptError } from "../../src/firewall/script-error.ts";
import { scriptToRestore } from "../../src/firewall/script-to-restore.ts";
import type { ExecResult, NodeExec } from "../../src/runtime/exec-result.ts";
import { readScenarioFile } from "../../src/scenarios/read-scenario-file.ts";

const lines = (text: string) => text.trim().split("\n");
const fail = (script: string, family?: "ipv4" | "ipv6") => {
  try {
    scriptToRestore(script, family);
  } catch (err) {
    if (err instanceof ScriptError) return { line: err.line, message: err.message };
    throw err;
  }
  throw new Error("expected a ScriptError");
};

const V6_SCRIPT = `#!/bin/sh
LAN6=2001:db8:1::/64
ip6tables -P INPUT DROP
ip6tables -A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
ip6tables -A INPUT -p ipv6-icmp --icmpv6-type echo-request -j ACCEPT
/sbin/ip6tables -A INPUT -p icmpv6 --icmpv6-type neighbour-solicitation -j ACCEPT
ip6tables-nft -A INPUT -s $LAN6 -p tcp --dport 22 -j ACCEPT
ip6tables-legacy -A INPUT -p tcp -j REJECT --reject-with tcp-reset
ip6tables -A INPUT -j REJECT --reject-with icmp6-adm-prohibited
ip6tables -A FORWARD -d 2001:db8:2::10 -p udp --dport 53 -j REJECT --reject-with icmp6-port-unreachable
ip6tables -t nat -A POSTROUTING -o wan -j MASQUERADE
ip6tables-save > /etc/sysconfig/ip6tables
`;

describe("scriptToRestore with ip6tables", () => {
  it("plays ip6tables commands (ICMPv6 types, icmp6 rejects, IPv6 blocks) and says the family", () => {
    const doc = scriptToRestore(V6_SCRIPT);
    expect(doc.family).toBe("ipv6");
    expect(doc.tables).toEqual(["nat", "filter"]);
    const out = lines(doc.text);
    expect(out).toContain(":INPUT DROP [0:0]");
    expect(out).toContain("-A INPUT -p ipv6-icmp --icmpv6-type echo-request -j ACCEPT");
    expect(out).toContain("-A INPUT -p icmpv6 --icmpv6-type neighbour-solicitation -j ACCEPT");
    expect(out).toContain("-A INPUT -s 2001:db8:1::/64 -p tcp --dport 22 -j ACCEPT");
    expect(out).toContain("-A INPUT -j REJECT --reject-with icmp6-adm-prohibited");
    expect(out).toContain(
      "-A FORWARD -d 2001:db8:2::10 -p udp --dport 53 -j REJECT --reject-with icmp6-port-unreachable",
    );
    expect(out).toContain("-A POSTROUTING -o wan -j MASQUERADE");
    // Lines map back to the script.
    expect(doc.sourceLine(out.indexOf("-A INPUT -j REJECT --reject-with icmp6-adm-prohibited") + 1)).toBe(9);
  });

  it("says an iptables script is IPv4 (and one with no commands too)", () => {
    expect(scriptToRestore("iptables -A INPUT -j ACCEPT\n").family).toBe("ipv4");
    expect(scriptToRestore("# nothing yet\n").family).toBe("ipv4");
    expect(scriptToRestore("# nothing yet\n", "ipv6").family).toBe("ipv6");
  });

  it("takes a script of both families as both rulesets, each rule keeping its line", () => {
    const doc = scriptToRestore(
      "iptables -P INPUT DROP\n\nip6tables -P INPUT DROP\niptables -A INPUT -i lo -j ACCEPT\n/sbin/ip6tables -A INPUT -i lo -j ACCEPT\n",
    );
    expect(doc.family).toBe("ipv4");
    // The same rules in each family's own document.
    const each = ["*filter", ":INPUT DROP [0:0]", ":FORWARD ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]"];
    expect(lines(doc.text)).toEqual([...each, "-A INPUT -i lo -j ACCEPT", "COMMIT"]);
    expect(doc.ipv6 && lines(doc.ipv6.text)).toEqual([...each, "-A INPUT -i lo -j ACCEPT", "COMMIT"]);
    expect(doc.sourceLine(5)).toBe(4);
    expect(doc.ipv6!.sourceLine(2)).toBe(3);
    expect(doc.ipv6!.sourceLine(5)).toBe(5);
    // Each family's own checks still hold, with the line.
    expect(fail("iptables -F\nip6tables -A INPUT -s 10.0.0.1 -j DROP\n")).toMatchObject({
      line: 2,
      message: expect.stringContaining("10.0.0.1 is an IPv4 address"),
    });
    // The IPv6 ruleset given beside the main one holds ip6tables commands only.
    expect(fail("# v6\niptables -A INPUT -j DROP\n", "ipv6")).toMatchObject({
      line: 2,
      message: expect.stringContaining('"iptables" in the IPv6 ruleset'),
    });
  });

  it("names the line of what one family's tool would refuse from the other's", () => {
    expect(fail("ip6tables -F\nip6tables -A INPUT -p icmp --icmp-type echo-request -j ACCEPT\n")).toEqual({
      line: 2,
      message: expect.stringContaining("write -p ipv6-icmp --icmpv6-type echo-request"),
    });
    expect(fail("ip6tables -A INPUT -j REJECT --reject-with icmp-host-prohibited")).toMatchObject({
      message: expect.stringContaining("icmp6-adm-prohibited"),
    });
    expect(fail("\nip6tables -A INPUT -s 10.0.1.0/24,2001:db8::1 -j ACCEPT")).toMatchObject({
      line: 2,
      message: expect.stringContaining("10.0.1.0/24 is an IPv4 address"),
    });
    expect(fail("iptables -A INPUT -d 2001:db8::1 -j ACCEPT")).toMatchObject({
      message: expect.stringContaining("2001:db8::1 is an IPv6 address"),
    });
    expect(fail("iptables -A INPUT -p icmp --icmpv6-type 128 -j ACCEPT")).toMatchObject({
      message: expect.stringContaining("--icmpv6-type is for ip6tables"),
    });
    expect(fail("iptables -A INPUT -j REJECT --reject-with icmp6-port-unreachable")).toMatchObject({
      message: expect.stringContaining("is for ip6tables"),
    });
    expect(fail("ip6tables -A NOPE -j DROP")).toMatchObject({
      message: expect.stringContaining('chain "NOPE" does not exist'),
    });
    expect(fail("ip6tables -t broute -A INPUT -j DROP")).toMatchObject({
      message: expect.stringContaining('unknown table "broute"'),
    });
  });
});

describe("format and family", () => {
  it.each([
    ["v6.sh", "#!/bin/sh\n# rules\nip6tables -F\n", "iptables-script", "ipv6"],
    ["v6.sh", "/usr/sbin/ip6tables-nft -A INPUT -j ACCEPT\n", "iptables-script", "ipv6"],
    ["v4.sh", "iptables -F\nip6tables -F\n", "iptables-script", "ipv4"],
    ["ip6tables", "# Generated by ip6tables-save v1.8.9\n*filter\nCOMMIT\n", "iptables-save", "ipv6"],
    ["iptables", "# Generated by iptables-save v1.8.9\n*filter\nCOMMIT\n", "iptables-save", "ipv4"],
    ["plain", "*filter\nCOMMIT\n", "iptables-save", "ipv4"],
  ])("%s: %j → %s, %s", (file, text, format, family) => {
    expect(detectRulesetFormat(file, text)).toBe(format);
    expect(detectRulesetFamily(text)).toBe(family);
  });
});

describe("IPv6 in save output and listings", () => {
  const save = `*filter
:INPUT DROP [0:0]
[3:180] -A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
COMMIT
# ip6tables
*filter
:INPUT DROP [0:0]
[1:104] -A INPUT -p ipv6-icmp -m icmp6 --icmpv6-type 128 -j ACCEPT
[0:0] -A INPUT -p tcp -j REJECT --reject-with icmp6-adm-prohibited
COMMIT
`;
  it("tells IPv6 tables from IPv4 ones (after `# ip6tables`)", () => {
    const tables = parseSave(save);
    expect(tables.map((t) => [t.name, t.family])).toEqual([
      ["filter", undefined],
      ["filter", "ipv6"],
    ]);
    expect(findChain(tables, "filter", "INPUT")!.rules).toHaveLength(1);
    expect(findChain(tables, "filter", "INPUT", "ipv6")!.rules.map((r) => r.packets)).toEqual([1, 0]);
  });

  it("numbers ip6 tables' rules by their ip6tables text", () => {
    const listing = parseListing(
      [
        "table ip filter { # handle 1",
        "\tchain INPUT { # handle 1",
        "\t\ttype filter hook input priority filter; policy drop;",
        "\t\ttcp dport 22 counter packets 0 bytes 0 accept # handle 4",
        "\t}",
        "}",
        "table ip6 filter { # handle 2",
        "\tchain INPUT { # handle 1",
        "\t\ttype filter hook input priority filter; policy drop;",
        "\t\tmeta l4proto ipv6-icmp icmpv6 type echo-request counter packets 0 bytes 0 accept # handle 4",
        "\t}",
        "}",
        "#fwlab#",
        "# Generated by iptables-nft-save v1.8.9 (nf_tables)",
        "*filter",
        ":INPUT DROP [0:0]",
        "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT",
        "COMMIT",
        "#fwlab6#",
        "# Generated by ip6tables-nft-save v1.8.9 (nf_tables)",
        "*filter",
        ":INPUT DROP [0:0]",
        "-A INPUT -p ipv6-icmp -m icmp6 --icmpv6-type 128 -j ACCEPT",
        "COMMIT",
        "",
      ].join("\n"),
    );
    expect(listing.iptablesSave).not.toContain("icmp6");
    expect(listing.ip6tablesSave).toContain("--icmpv6-type 128");
    const handles = ruleHandles(listing.nft, listing.iptablesSave, listing.ip6tablesSave);
    expect(handles.get(handleKey("ip", "filter", "INPUT", 4))?.text).toBe(
      "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT",
    );
    expect(handles.get(handleKey("ip6", "filter", "INPUT", 4))).toEqual({
      num: 1,
      text: "-A INPUT -p ipv6-icmp -m icmp6 --icmpv6-type 128 -j ACCEPT",
    });
    // A listing split the old way (on #fwlab# only) still numbers IPv4 rules right.
    const old = ruleHandles(listing.nft, `${listing.iptablesSave}#fwlab6#\n${listing.ip6tablesSave}`);
    expect(old.get(handleKey("ip", "filter", "INPUT", 4))?.text).toContain("--dport 22");
    expect(old.get(handleKey("ip6", "filter", "INPUT", 4))?.text).toContain("--icmpv6-type 128");
  });
});

describe("loadRuleset with an IPv6 ruleset", () => {
  const dir = mkdtempSync(join(tmpdir(), "fwlab-ip6-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const v4 = file("v4.sh", "iptables -P FORWARD DROP\niptables -A FORWARD -p tcp --dport 80 -j ACCEPT\n");
  const v6 = file(
    "v6.sh",
    "# IPv6\nip6tables -P FORWARD DROP\nip6tables -A FORWARD -p ipv6-icmp --icmpv6-type echo-request -j ACCEPT\nip6tables -A FORWARD -m conntrack --ctstate RELTAED -j ACCEPT\n",
  );
  /** A node's loader that answers `result` and remembers what it was sent. */
  const fake = (result: Partial<ExecResult> = {}) => {
    const calls: { argv: string[]; stdin?: string }[] = [];
    const exec: NodeExec = async (argv, opts) => {
      calls.push({ argv, stdin: opts?.stdin });
      return { exitCode: 0, stdout: "", stderr: "", durationMs: 1, ...result };
    };
    return { exec, calls };
  };
  const rejected = async (p: Promise<unknown>) => {
    try {
      await p;
    } catch (err) {
      return err as FwlabError;
    }
    throw new Error("expected the load to fail");
  };

  it("sends the IPv4 document, then the IPv6 one after #fwlab-ip6#, then fwlab's own tables", async () => {
    const { exec, calls } = fake();
    const r = await loadRuleset("fw", exec, v4, { ipv6: v6, ownTables: "table ip fwlab_trace {}" });
    expect(calls).toHaveLength(1);
    expect(calls[0]!.argv).toEqual(["fwlab-ruleset", "load", "iptables-nft"]);
    const [v4doc, rest] = calls[0]!.stdin!.split("#fwlab-ip6#\n");
    expect(v4doc).toContain("-A FORWARD -p tcp --dport 80 -j ACCEPT");
    expect(v4doc).not.toContain("icmpv6");
    const [v6doc, own] = rest!.split("#fwlab-own#\n");
    expect(lines(v6doc!)).toContain("-A FORWARD -p ipv6-icmp --icmpv6-type echo-request -j ACCEPT");
    expect(lines(v6doc!)[0]).toBe("*filter");
    expect(own).toBe("table ip fwlab_trace {}\n");
    expect(r).toMatchObject({ file: v4, ipv6File: v6, format: "iptables-script", rules: 3 });
  });

  it("loads a script of both families as both halves, and blames the line of the half that failed", async () => {
    const both = file(
      "both.sh",
      "iptables -P INPUT DROP\nip6tables -P INPUT DROP\niptables -A INPUT -i lo -j ACCEPT\nip6tables -A INPUT -p tcp --dprot 22 -j ACCEPT\n",
    );
    const { exec, calls } = fake();
    const r = await loadRuleset("fw", exec, both);
    const [v4doc, v6doc] = calls[0]!.stdin!.split("#fwlab-ip6#\n");
    expect(lines(v4doc!)).toContain("-A INPUT -i lo -j ACCEPT");
    expect(lines(v6doc!)).toContain("-A INPUT -p tcp --dprot 22 -j ACCEPT");
    expect(r).toMatchObject({ file: both, ipv6File: both, rules: 2 });
    const failing = fake({
      exitCode: 2,
      stderr:
        'ip6tables-nft-restore v1.8.9 (nf_tables): unknown option "--dprot"\nError occurred at line: 5\nfwlab-ruleset: the IPv6 ruleset was rejected\n',
    });
    const err = await rejected(loadRuleset("fw", failing.exec, both));
    expect(err.message).toContain(`ruleset ${both} line 4: unknown option "--dprot"`);
  });

  it("loads again without a rule the kernel refused where the script catches its failure, and says so", async () => {
    const script = file(
      "owner.sh",
      "iptables -A INPUT -i lo -j ACCEPT\niptables -A INPUT -m owner --uid-owner 0 -j ACCEPT 2>/dev/null || iptables -A INPUT -p tcp --dport 2222 -j ACCEPT\n",
    );
    // As iptables-nft-restore says it: the kernel takes -m owner only in OUTPUT and POSTROUTING.
    const refused = {
      exitCode: 3,
      stderr:
        "iptables-nft-restore v1.8.9 (nf_tables): \nline 6: RULE_APPEND failed (Invalid argument): rule in chain INPUT\n",
    };
    const calls: string[] = [];
    const exec: NodeExec = async (_argv, opts) => {
      calls.push(opts!.stdin!);
      const result = opts!.stdin!.includes("-m owner") ? refused : {};
      return { exitCode: 0, stdout: "", stderr: "", durationMs: 1, ...result };
    };
    const r = await loadRuleset("fw", exec, script);
    expect(calls).toHaveLength(2);
    expect(lines(calls[1]!)).toEqual(
      expect.arrayContaining(["-A INPUT -i lo -j ACCEPT", "-A INPUT -p tcp --dport 2222 -j ACCEPT"]),
    );
    expect(r.rules).toBe(2);
    expect(r.notes).toEqual([
      expect.stringMatching(/owner\.sh line 2: the kernel refused this rule \(RULE_APPEND failed/),
    ]);
    // Without a || the script would stop there: the load fails, naming the line.
    const strict = file(
      "strict.sh",
      "iptables -A INPUT -i lo -j ACCEPT\niptables -A INPUT -m owner --uid-owner 0 -j ACCEPT\n",
    );
    const err = await rejected(loadRuleset("fw", exec, strict));
    expect(err.message).toContain(`ruleset ${strict} line 2: RULE_APPEND failed`);
  });

  /** A node whose kernel refuses every rule with `-m owner`, naming the first in document order. */
  const ownerRefusingKernel = () => {
    const sent: string[] = [];
    const exec: NodeExec = async (_argv, opts) => {
      const stdin = opts!.stdin!;
      sent.push(stdin);
      const [v4doc, v6doc = ""] = stdin.split("#fwlab-own#")[0]!.split("#fwlab-ip6#\n");
      for (const [doc, family] of [
        [v4doc!, "iptables"],
        [v6doc, "ip6tables"],
      ] as const) {
        const n = doc.split("\n").findIndex((l) => l.startsWith("-A ") && l.includes("-m owner")) + 1;
        if (n > 0)
          return {
            exitCode: 3,
            stdout: "",
            durationMs: 1,
            stderr: `${family}-nft-restore v1.8.9 (nf_tables): \nline ${n}: RULE_APPEND failed (Invalid argument): rule in chain INPUT\n${family === "ip6tables" ? "fwlab-ruleset: the IPv6 ruleset was rejected\n" : ""}`,
          };
      }
      return { exitCode: 0, stdout: "", stderr: "", durationMs: 1 };
    };
    return { exec, sent };
  };

  it("keeps each refused command apart from its fallback across tries (-I in a loop reorders them)", async () => {
    const script = file(
      "insert.sh",
      "for port in 22 80; do\n  iptables -I INPUT -p tcp --dport $port -m owner --uid-owner 0 -j ACCEPT || iptables -I INPUT -p tcp --dport $port -j ACCEPT\ndone\n",
    );
    const kernel = ownerRefusingKernel();
    const r = await loadRuleset("fw", kernel.exec, script);
    expect(lines(kernel.sent.at(-1)!).filter((l) => l.startsWith("-A"))).toEqual([
      "-A INPUT -p tcp --dport 80 -j ACCEPT",
      "-A INPUT -p tcp --dport 22 -j ACCEPT",
    ]);
    expect(r.notes).toHaveLength(2);
    expect(r.notes[0]).toMatch(/insert\.sh line 2: the kernel refused this rule/);
  });

  it("fails where the script exits on the refusal (|| exit 1), naming the kernel's refusal", async () => {
    const script = file(
      "exits.sh",
      'iptables -P INPUT DROP\niptables -A INPUT -m owner --uid-owner 0 -j ACCEPT || { echo "cannot add rule" >&2; exit 1; }\niptables -A INPUT -p tcp --dport 22 -j ACCEPT\n',
    );
    const err = await rejected(loadRuleset("fw", ownerRefusingKernel().exec, script));
    expect(err.message).toContain(`ruleset ${script} line 2: RULE_APPEND failed`);
    // A script that ends with `exit 0` anyway ends there either way: it loads.
    const ends = file(
      "ends.sh",
      "iptables -A INPUT -m owner --uid-owner 0 -j ACCEPT || true\niptables -A INPUT -j ACCEPT\nexit 0\n",
    );
    expect((await loadRuleset("fw", ownerRefusingKernel().exec, ends)).rules).toBe(1);
  });

  it("plays a refused command failed only in the file it is in (a separate IPv6 file has lines of its own)", async () => {
    const main = file("main4.sh", "iptables -A INPUT -p tcp --dport 22 -j ACCEPT || true\n");
    const six = file("six.sh", "ip6tables -A INPUT -m owner --uid-owner 0 -j ACCEPT || true\n");
    const kernel = ownerRefusingKernel();
    const r = await loadRuleset("fw", kernel.exec, main, { ipv6: six });
    expect(kernel.sent.at(-1)).toContain("-A INPUT -p tcp --dport 22 -j ACCEPT");
    expect(r.rules).toBe(1);
    expect(r.notes).toEqual([expect.stringMatching(/^\S*six\.sh line 1: the kernel refused this rule/)]);
  });

  it("says what nft's 'No such file or directory' is likely about (a host's device names)", async () => {
    const nft = file(
      "host.nft",
      "table inet f {\n  flowtable ft {\n    hook ingress priority filter\n    devices = { eth0 }\n  }\n}\n",
    );
    const { exec } = fake({
      exitCode: 2,
      stderr:
        "/run/fwlab/next.rules:3:3-14: Error: Could not process rule: No such file or directory\n  flowtable ft {\n  ^^^^^^^^^^^^\n",
    });
    const err = await rejected(loadRuleset("fw", exec, nft));
    expect(err.message).toContain(
      `ruleset ${nft} line 2: Error: Could not process rule: No such file or directory (nft says so for a device the node does not have`,
    );
  });

  it("loads a file of ip6tables commands as the IPv6 ruleset alone (IPv4 empty)", async () => {
    const { exec, calls } = fake();
    const r = await loadRuleset("fw", exec, v6, { backend: "iptables-legacy" });
    expect(calls[0]!.argv).toEqual(["fwlab-ruleset", "load", "iptables-legacy"]);
    expect(calls[0]!.stdin!.startsWith("#fwlab-ip6#\n*filter\n")).toBe(true);
    expect(r).toMatchObject({ file: v6, ipv6File: v6, rules: 2 });
  });

  it("reads the listing back with both families", async () => {
    const { exec } = fake({
      stdout: "table ip filter {}\n#fwlab#\n*filter\nCOMMIT\n#fwlab6#\n*filter\n-A X\nCOMMIT\n",
    });
    const r = await loadRuleset("fw", exec, v4, { ipv6: v6, listing: true });
    expect(r.listing).toEqual({
      nft: "table ip filter {}\n",
      iptablesSave: "*filter\nCOMMIT\n",
      ip6tablesSave: "*filter\n-A X\nCOMMIT\n",
    });
  });

  it("maps a failing IPv6 part's line back to its file and cleans ip6tables' message", async () => {
    const { exec } = fake({
      exitCode: 2,
      stderr:
        "ip6tables-nft-restore v1.8.9 (nf_tables): Bad ctstate \"RELTAED\"\nError occurred at line: 6\nTry `ip6tables-nft-restore -h' or 'ip6tables-nft-restore --help' for more information.\nfwlab-ruleset: the IPv6 ruleset was rejected\n",
    });
    const err = await rejected(loadRuleset("fw", exec, v4, { ipv6: v6 }));
    // Line 6 of the v6 document (*filter, 3 chains, 2 rules) is the RELTAED rule, line 4 of v6.sh.
    expect(err.message).toBe(
      `[fw] ruleset ${v6} line 4: Bad ctstate "RELTAED" (ip6tables-nft-restore exited 2); nothing was loaded, the previous IPv4 and IPv6 rulesets are still active\n` +
        "  4 | ip6tables -A FORWARD -m conntrack --ctstate RELTAED -j ACCEPT",
    );
    expect(err.exitCode).toBe(2);
  });

  it("names the IPv6 file for `ip6tables-restore: line N failed` while applying", async () => {
    const { exec } = fake({
      exitCode: 3,
      stderr: "ip6tables-restore: line 5 failed\nfwlab-ruleset: the IPv6 ruleset failed while applying\n",
    });
    const err = await rejected(loadRuleset("fw", exec, v4, { ipv6: v6, backend: "iptables-legacy" }));
    expect(err.message).toMatch(
      new RegExp(
        `^\\[fw\\] ruleset ${v6} line 3: line 5 failed \\(ip6tables-legacy-restore exited 3\\); it failed while applying and the previous IPv4 and IPv6 rulesets were put back\n  3 \\| ip6tables -A FORWARD -p ipv6-icmp`,
      ),
    );
  });

  it("names the IPv6 rule that jumps to a chain that does not exist, and nft's RULE_APPEND line", async () => {
    const jumps = file(
      "jumps.sh",
      "ip6tables -N LOGDROP\nip6tables -A INPUT -j LOGDROP\nip6tables -X LOGDROP\n",
    );
    const missing = fake({
      exitCode: 3,
      stderr:
        "ip6tables-nft-restore v1.8.9 (nf_tables): Chain 'LOGDROP' does not exist\nError occurred at line: 6\nfwlab-ruleset: the IPv6 ruleset failed while applying\n",
    });
    // -X removed the chain the rule jumps to: the played document keeps the jump.
    const err = await rejected(loadRuleset("fw", missing.exec, v4, { ipv6: jumps }));
    expect(err.message).toContain(`ruleset ${jumps} line 2: Chain 'LOGDROP' does not exist`);
    const append = fake({
      exitCode: 3,
      stderr:
        "ip6tables-nft-restore v1.8.9 (nf_tables): \nline 5: RULE_APPEND failed (Invalid argument): rule in chain FORWARD\nfwlab-ruleset: the IPv6 ruleset failed while applying\n",
    });
    const err2 = await rejected(loadRuleset("fw", append.exec, v4, { ipv6: v6 }));
    expect(err2.message).toContain(
      `ruleset ${v6} line 3: RULE_APPEND failed (Invalid argument): rule in chain FORWARD (ip6tables-nft-restore exited 3)`,
    );
  });

  it("blames the IPv4 file when the loader names IPv4", async () => {
    const { exec } = fake({
      exitCode: 2,
      stderr:
        'iptables-nft-restore v1.8.9 (nf_tables): unknown option "--dprot"\nError occurred at line: 5\nfwlab-ruleset: the IPv4 ruleset was rejected\n',
    });
    const err = await rejected(loadRuleset("fw", exec, v4, { ipv6: v6 }));
    expect(err.message).toMatch(
      new RegExp(
        `^\\[fw\\] ruleset ${v4} line 2: unknown option "--dprot" \\(iptables-nft-restore exited 2\\)`,
      ),
    );
  });

  it("refuses, before the node sees anything, what cannot be an IPv6 load", async () => {
    const { exec, calls } = fake();
    const nft = file("rules.nft", "table inet t {\n}\n");
    await expect(loadRuleset("fw", exec, nft, { ipv6: v6 })).rejects.toThrow(
      /rules\.nft is an nft file: its inet and ip6 tables hold its IPv6 rules/,
    );
    await expect(loadRuleset("fw", exec, v4, { ipv6: nft })).rejects.toThrow(InputError);
    await expect(loadRuleset("fw", exec, v6, { ipv6: v6 })).rejects.toThrow(
      /give the IPv4 ruleset as the file/,
    );
    const mixed = file("mixed.sh", "iptables -F\nip6tables -F\n");
    await expect(loadRuleset("fw", exec, mixed, { ipv6: v6 })).rejects.toThrow(
      /mixed\.sh holds ip6tables commands, its own IPv6 ruleset, and .*v6\.sh is given as the IPv6 one too/,
    );
    await expect(loadRuleset("fw", exec, v4, { ipv6: v4 })).rejects.toThrow(
      /v4\.sh line 1: "iptables" in the IPv6 ruleset/,
    );
    expect(calls).toHaveLength(0);
    expect(() => checkRulesetFile(nft, "lab.yml fw ipv6", { ipv6: true })).toThrow(
      /cannot be the IPv6 ruleset/,
    );
    expect(() => checkRulesetFile(mixed, "lab.yml fw")).not.toThrow();
  });
});

describe("a scenario's IPv4 and IPv6 ruleset files", () => {
  const dir = mkdtempSync(join(tmpdir(), "fwlab-rs6-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, "v4.sh"), "iptables -P INPUT DROP\n");
  writeFileSync(join(dir, "v6.sh"), "ip6tables -P INPUT DROP\n");
  const scenario = (rulesets: string, load: string) => {
    const f = join(dir, `s${Math.random().toString(36).slice(2)}.scenario.yml`);
    writeFileSync(
      f,
      `name: both families\nlab: ${process.cwd()}/docker-compose.yml\nrulesets:\n  fw: ${rulesets}\nsteps:\n  - { name: load, load: ${load}, expect: loads }\n`,
    );
    return f;
  };

  it("reads { ipv4, ipv6 } as it reads { file, ipv6 }", () => {
    for (const key of ["ipv4", "file"]) {
      const s = readScenarioFile(
        scenario(`{ ${key}: v4.sh, ipv6: v6.sh }`, `{ node: fw, ${key}: v4.sh, ipv6: v6.sh }`),
      );
      expect(s.scenario.rulesets?.fw).toEqual({ file: "v4.sh", ipv6: "v6.sh" });
      const step = s.scenario.steps[0];
      expect(step && "load" in step ? step.load : undefined).toEqual({
        node: "fw",
        file: "v4.sh",
        ipv6: "v6.sh",
      });
    }
  });

  it("refuses both spellings at once, and an IPv6 file that is not an ip6tables ruleset", () => {
    expect(() =>
      readScenarioFile(scenario("{ ipv4: v4.sh, file: v4.sh }", "{ node: fw, file: v4.sh }")),
    ).toThrow(/rulesets\.fw\.ipv4: "file" and "ipv4" name the same ruleset/);
    expect(() => readScenarioFile(scenario("{ ipv6: v6.sh }", "{ node: fw, file: v4.sh }"))).toThrow(
      /missing "file" \(or "ipv4"\)/,
    );
    expect(() =>
      readScenarioFile(scenario("{ ipv4: v4.sh, ipv6: v4.sh }", "{ node: fw, file: v4.sh }")),
    ).toThrow(/v4\.sh/);
  });
});
