import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ScriptError, scriptToRestore } from "../../src/firewall/script-to-restore.ts";

const lines = (text: string) => text.trim().split("\n");
const fail = (script: string) => {
  try {
    scriptToRestore(script);
  } catch (err) {
    if (err instanceof ScriptError) return { line: err.line, message: err.message };
    throw err;
  }
  throw new Error("expected a ScriptError");
};

describe("scriptToRestore", () => {
  it("plays seed 000's stateless script into one filter table with policies and rules in order", () => {
    const doc = scriptToRestore(readFileSync("scenarios/seed-000/stateless.sh", "utf8"));
    const out = lines(doc.text);
    expect(out.slice(0, 4)).toEqual([
      "*filter",
      ":INPUT DROP [0:0]",
      ":FORWARD DROP [0:0]",
      ":OUTPUT DROP [0:0]",
    ]);
    expect(out).toContain("-A INPUT -s 10.0.1.10 -p tcp --dport 22 -j LOG --log-prefix ssh_accept");
    expect(out.filter((l) => l.startsWith("-A "))).toHaveLength(16);
    expect(out.at(-1)).toBe("COMMIT");
    expect(doc.tables).toEqual(["filter"]);
  });

  it("maps every document line back to the script line it came from", () => {
    const script =
      "# comment\niptables -P INPUT DROP\n\niptables -A INPUT -p icmp -j ACCEPT\niptables -A INPUT -m conntrack --ctstate ESTABLISHED,RELTAED -j ACCEPT\n";
    const doc = scriptToRestore(script);
    const out = lines(doc.text);
    const bad = out.findIndex((l) => l.includes("RELTAED")) + 1;
    expect(doc.sourceLine(bad)).toBe(5);
    expect(doc.sourceLine(out.indexOf(":INPUT DROP [0:0]") + 1)).toBe(2);
  });

  it("handles -I, -R, -D (by number and by spec), -N, -X, -E and -F like iptables", () => {
    const doc = scriptToRestore(`
iptables -A INPUT -p tcp --dport 22 -j ACCEPT
iptables -A INPUT -p tcp --dport 80 -j ACCEPT
iptables -I INPUT -i lo -j ACCEPT
iptables -I INPUT 2 -p icmp -j ACCEPT
iptables -R INPUT 3 -p tcp --dport 2222 -j ACCEPT
iptables -D INPUT -p tcp --dport 80 -j ACCEPT
iptables -N LOGDROP
iptables -A LOGDROP -j DROP
iptables -N OLD
iptables -E LOGDROP LOG_AND_DROP
iptables -A INPUT -j LOG_AND_DROP
iptables -X OLD
iptables -t nat -A POSTROUTING -o wan -j MASQUERADE
iptables -t nat -F
iptables -t nat -A POSTROUTING -o wan -j MASQUERADE
`);
    expect(lines(doc.text)).toEqual([
      "*nat",
      ":PREROUTING ACCEPT [0:0]",
      ":INPUT ACCEPT [0:0]",
      ":OUTPUT ACCEPT [0:0]",
      ":POSTROUTING ACCEPT [0:0]",
      "-A POSTROUTING -o wan -j MASQUERADE",
      "COMMIT",
      "*filter",
      ":INPUT ACCEPT [0:0]",
      ":FORWARD ACCEPT [0:0]",
      ":OUTPUT ACCEPT [0:0]",
      ":LOG_AND_DROP - [0:0]",
      "-A INPUT -i lo -j ACCEPT",
      "-A INPUT -p icmp -j ACCEPT",
      "-A INPUT -p tcp --dport 2222 -j ACCEPT",
      "-A INPUT -j LOG_AND_DROP",
      "-A LOG_AND_DROP -j DROP",
      "COMMIT",
    ]);
  });

  it("keeps quoted words, negations and variables", () => {
    const doc = scriptToRestore(
      `LAN=10.0.1.0/24\niptables -A INPUT -s $LAN -p tcp ! --syn -m state --state NEW -j LOG --log-prefix "new not syn: "\n`,
    );
    expect(lines(doc.text)).toContain(
      '-A INPUT -s 10.0.1.0/24 -p tcp ! --syn -m state --state NEW -j LOG --log-prefix "new not syn: "',
    );
  });

  it("skips what only lists or saves (iptables -L, -nL, service iptables save)", () => {
    const doc = scriptToRestore(
      "iptables -L -v\niptables -nL --line-numbers\n/sbin/service iptables save\niptables-save > /etc/sysconfig/iptables\niptables -A INPUT -j ACCEPT\n",
    );
    expect(lines(doc.text).filter((l) => l.startsWith("-A"))).toEqual(["-A INPUT -j ACCEPT"]);
  });

  it("names the line of what it cannot play", () => {
    expect(fail("iptables -F\nrm -rf /\n")).toEqual({
      line: 2,
      message: expect.stringContaining('"rm" is not an iptables command'),
    });
    expect(fail("iptables -A NOPE -j ACCEPT")).toMatchObject({
      line: 1,
      message: expect.stringContaining('chain "NOPE" does not exist'),
    });
    expect(fail("\n\niptables -R INPUT 4 -j DROP")).toMatchObject({
      line: 3,
      message: expect.stringContaining("out of range"),
    });
    expect(fail("iptables -P LOGDROP DROP")).toMatchObject({
      message: expect.stringContaining("not a built-in chain"),
    });
    expect(fail("iptables -A INPUT -s $HOST -j ACCEPT")).toMatchObject({
      message: expect.stringContaining("$HOST is not set"),
    });
    expect(fail("iptables -A INPUT -j ACCEPT && echo done")).toMatchObject({
      message: expect.stringContaining('operator "&&"'),
    });
    expect(fail("iptables -t filtre -A INPUT -j ACCEPT")).toMatchObject({
      message: expect.stringContaining('unknown table "filtre"'),
    });
    expect(fail("iptables -D INPUT -p udp -j DROP")).toMatchObject({
      message: expect.stringContaining("no rule in INPUT matches"),
    });
  });

  it("joins continued lines and reports the first line of the command", () => {
    expect(
      fail("iptables -A INPUT \\\n  -p tcp \\\n  -j NOWHERE_CHAIN_X\niptables -A NOPE -j DROP"),
    ).toMatchObject({ line: 4 });
  });
});
