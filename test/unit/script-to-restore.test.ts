import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { nftScriptDocument } from "../../src/firewall/nft-script.ts";
import { detectRulesetFormat } from "../../src/firewall/ruleset-format.ts";
import { ScriptError } from "../../src/firewall/script-error.ts";
import { scriptToRestore } from "../../src/firewall/script-to-restore.ts";

const lines = (text: string) => text.trim().split("\n");
/** The ScriptError a player throws for a script: its line and message. */
const refusal =
  (play: (script: string) => unknown) =>
  (script: string): { line: number; message: string } => {
    try {
      play(script);
    } catch (err) {
      if (err instanceof ScriptError) return { line: err.line, message: err.message };
      throw err;
    }
    throw new Error("expected a ScriptError");
  };
const fail = refusal(scriptToRestore);

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
    expect(fail("iptables -A INPUT -j ACCEPT & echo done")).toMatchObject({
      message: expect.stringContaining('operator "&"'),
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

  describe("the shell around the iptables lines, as classic firewall scripts write it", () => {
    const rules = (script: string) => lines(scriptToRestore(script).text).filter((l) => l.startsWith("-A"));

    it("plays for loops over words and over a variable's words, on one line or several, nested", () => {
      const script = [
        'TCP_PORTS="22 80 443"',
        "for p in $TCP_PORTS; do iptables -A INPUT -p tcp --dport $p -j ACCEPT; done",
        "for net in 10.0.1.0/24 10.0.2.0/24",
        "do",
        "  for proto in tcp udp; do",
        "    iptables -A FORWARD -s $net -p $proto --dport 53 -j ACCEPT",
        "  done",
        "done",
      ].join("\n");
      expect(rules(script)).toEqual([
        "-A INPUT -p tcp --dport 22 -j ACCEPT",
        "-A INPUT -p tcp --dport 80 -j ACCEPT",
        "-A INPUT -p tcp --dport 443 -j ACCEPT",
        "-A FORWARD -s 10.0.1.0/24 -p tcp --dport 53 -j ACCEPT",
        "-A FORWARD -s 10.0.1.0/24 -p udp --dport 53 -j ACCEPT",
        "-A FORWARD -s 10.0.2.0/24 -p tcp --dport 53 -j ACCEPT",
        "-A FORWARD -s 10.0.2.0/24 -p udp --dport 53 -j ACCEPT",
      ]);
      // Each rule still points at its own script line.
      const doc = scriptToRestore(script);
      const at = lines(doc.text).findIndex((l) => l.includes("-s 10.0.2.0/24 -p udp"));
      expect(doc.sourceLine(at + 1)).toBe(6);
    });

    it("plays ;, && and || as a shell runs them, with redirections dropped", () => {
      const script = [
        "iptables -F; iptables -X",
        "iptables -N LOGDROP 2>/dev/null || iptables -F LOGDROP",
        "iptables -N LOGDROP 2>/dev/null || iptables -F LOGDROP",
        "iptables -D INPUT -j NOT_THERE >/dev/null 2>&1 || true",
        'iptables -A LOGDROP -j LOG --log-prefix "drop: " && iptables -A LOGDROP -j DROP',
        "iptables -A INPUT -j LOGDROP &> /dev/null",
      ].join("\n");
      expect(rules(script)).toEqual([
        "-A INPUT -j LOGDROP",
        '-A LOGDROP -j LOG --log-prefix "drop: "',
        "-A LOGDROP -j DROP",
      ]);
      // Without a || to catch it, a failure is the script's error, with its line.
      expect(fail("iptables -N A\niptables -N A 2>/dev/null; true")).toMatchObject({
        line: 2,
        message: expect.stringContaining("already exists"),
      });
    });

    it("plays if, elif and else on tests a script can decide, and a failed command as a false condition", () => {
      const script = [
        "IPV6=no",
        "LOG_DROPS=yes",
        "MAX=3",
        'if [ "$IPV6" = yes ]; then',
        "  ip6tables -P INPUT DROP",
        'elif [ -n "$LOG_DROPS" ] && [ $MAX -ge 2 ]; then',
        "  if ! iptables -N LOGDROP 2>/dev/null; then iptables -F LOGDROP; fi",
        "  iptables -A LOGDROP -j LOG",
        "  if iptables -N LOGDROP 2>/dev/null; then",
        "    iptables -A LOGDROP -j ACCEPT",
        "  else",
        "    iptables -A LOGDROP -j DROP",
        "  fi",
        "else",
        "  iptables -P INPUT ACCEPT",
        "fi",
        "if [ -d /proc/sys/net/ipv6 ]; then iptables -A INPUT -j LOGDROP; fi; iptables -A INPUT -j ACCEPT",
        "if test $MAX -lt 2; then iptables -P FORWARD DROP; fi",
        'if [ -z "$IPV6" ]; then iptables -P OUTPUT DROP; fi',
      ].join("\n");
      const doc = scriptToRestore(script);
      expect(lines(doc.text).filter((l) => l.startsWith("-A") || l.startsWith(":"))).toEqual([
        ":INPUT ACCEPT [0:0]",
        ":FORWARD ACCEPT [0:0]",
        ":OUTPUT ACCEPT [0:0]",
        ":LOGDROP - [0:0]",
        "-A INPUT -j LOGDROP",
        "-A INPUT -j ACCEPT",
        "-A LOGDROP -j LOG",
        "-A LOGDROP -j DROP",
      ]);
      expect(doc.ipv6).toBeUndefined();
      // Each rule points at its own script line, inside branches too.
      const at = lines(doc.text).indexOf("-A LOGDROP -j DROP");
      expect(doc.sourceLine(at + 1)).toBe(12);
    });

    it("plays what a review found dash doing differently, as dash does (or refuses it, with its line)", () => {
      const ACCEPT_LO = "-A INPUT -i lo -j ACCEPT";
      // A group after || runs only when the test failed; the rules after it are played.
      expect(
        rules(
          '[ -x /sbin/iptables ] || { echo "iptables missing" >&2; exit 1; }\niptables -P INPUT DROP\niptables -A INPUT -i lo -j ACCEPT',
        ),
      ).toEqual([ACCEPT_LO]);
      expect(
        rules("false && { iptables -A INPUT -j DROP; exit 0; }\niptables -A INPUT -i lo -j ACCEPT"),
      ).toEqual([ACCEPT_LO]);
      // Keywords one after another on a line: `do if`, `else if`.
      expect(
        rules(
          'for x in a b; do if [ "$x" = a ]; then iptables -A INPUT -s 10.0.0.1 -j ACCEPT; else if [ "$x" = b ]; then iptables -A INPUT -s 10.0.0.2 -j DROP; fi; fi; done',
        ),
      ).toEqual(["-A INPUT -s 10.0.0.1 -j ACCEPT", "-A INPUT -s 10.0.0.2 -j DROP"]);
      // A listing of a chain fails when the chain is not there, whatever its flags.
      expect(
        rules(
          "if ! iptables -L LOGDROP >/dev/null 2>&1; then iptables -N LOGDROP; fi\niptables -A LOGDROP -j DROP",
        ),
      ).toEqual(["-A LOGDROP -j DROP"]);
      expect(
        rules("iptables -N LOGDROP\niptables -n -L LOGDROP >/dev/null 2>&1 || iptables -N LOGDROP"),
      ).toEqual([]);
      // A failure inside a compound whose status is caught leaves the rest of its body to run.
      expect(
        rules(
          "iptables -N A\nif [ -x /sbin/iptables ]; then\n  iptables -N A\n  iptables -A A -j DROP\nfi || true",
        ),
      ).toEqual(["-A A -j DROP"]);
      expect(
        lines(scriptToRestore("iptables -N A\nfor c in A B; do iptables -N $c; done || true").text),
      ).toContain(":B - [0:0]");
      // `$?` right after a command: its failure is the script's to handle, as with ||.
      expect(
        rules(
          "iptables -N LOGDROP\niptables -N LOGDROP 2>/dev/null\nif [ $? -ne 0 ]; then iptables -F LOGDROP; fi\niptables -L -n >/dev/null 2>&1\n[ $? -eq 0 ] || exit 1\niptables -A LOGDROP -j DROP",
        ),
      ).toEqual(["-A LOGDROP -j DROP"]);
      expect(fail("iptables -N A\niptables -N A\necho done\n[ $? -eq 0 ]")).toMatchObject({
        line: 2,
        message: expect.stringContaining("already exists"),
      });
      // A test asks whether a variable is set: unset is empty there.
      expect(
        rules(
          // biome-ignore lint/suspicious/noTemplateCurlyInString: the shell's ${NAME}, not a template
          'if [ -n "$WAN_IF" ]; then iptables -A INPUT -i $WAN_IF -j DROP; fi\nif [ -z "${LAN_NET}" ]; then LAN_NET=10.0.1.0/24; fi\niptables -A INPUT -s $LAN_NET -j ACCEPT',
        ),
      ).toEqual(["-A INPUT -s 10.0.1.0/24 -j ACCEPT"]);
      // What a firewall node has, and has not.
      expect(
        rules(
          "if [ -x /usr/sbin/ufw ]; then ufw disable; fi\n[ -s /proc/sys/net/ipv4/ip_forward ] || iptables -A INPUT -i lo -j ACCEPT",
        ),
      ).toEqual([ACCEPT_LO]);
      expect(scriptToRestore("command -v ip6tables >/dev/null 2>&1 && ip6tables -P INPUT DROP").family).toBe(
        "ipv6",
      );
      expect(rules("which firewall-cmd >/dev/null || iptables -A INPUT -i lo -j ACCEPT")).toEqual([
        ACCEPT_LO,
      ]);
      for (const test of [
        "[ -e /proc/sys/net/bridge/bridge-nf-call-iptables ]",
        "[ -d /proc/sys/net/ipv4/conf/eth0 ]",
        "[ -f /proc/sys/net/../../../etc/fw.lock ]",
      ])
        expect(fail(`iptables -F\nif ${test}; then iptables -F; fi`)).toMatchObject({ line: 2 });
      // POSIX: a binary operator in the middle decides first.
      expect(rules('A="!"\n[ "$A" = "!" ] && iptables -A INPUT -i lo -j ACCEPT')).toEqual([ACCEPT_LO]);
      // The status of what only the machine knows is refused, not taken as success.
      expect(
        fail(
          "iptables -F\nif ! iptables-save -t nat | grep -q MASQUERADE; then iptables -t nat -A POSTROUTING -j MASQUERADE; fi",
        ),
      ).toMatchObject({ line: 2, message: expect.stringContaining("cannot know it") });
      for (const tested of [
        "{ systemctl is-active firewalld; } || iptables -A INPUT -j ACCEPT",
        "if { iptables-save | grep -q DROP; }; then iptables -A INPUT -j ACCEPT; fi",
        "if true; then systemctl is-active x; fi && iptables -A INPUT -j ACCEPT",
      ])
        expect(fail(tested)).toMatchObject({ message: expect.stringContaining("cannot know it") });
      expect(fail("systemctl is-active --quiet firewalld && iptables -F")).toMatchObject({
        message: expect.stringContaining("exit status of systemctl"),
      });
      expect(
        rules(
          "modprobe nf_conntrack_ftp || true\niptables-save > /etc/iptables.rules\niptables -A INPUT -i lo -j ACCEPT",
        ),
      ).toEqual([ACCEPT_LO]);
      // What needs a real shell is refused in a branch never taken too, and syntax sh refuses.
      expect(fail("iptables -F\nif [ a = b ]; then\n  while true; do :; done\nfi")).toMatchObject({
        line: 3,
      });
      expect(fail("for x in a b; do continue; done")).toMatchObject({
        message: expect.stringContaining('shell "continue"'),
      });
      expect(fail("if [ a = a ]; then\nfi")).toMatchObject({
        line: 1,
        message: expect.stringContaining('"then" without a command'),
      });
      expect(fail("if [ a = a ]; iptables -F; fi")).toMatchObject({
        message: expect.stringContaining('where "then" was expected'),
      });
      expect(rules("if [ a = a ]; then iptables -A INPUT -i lo -j ACCEPT; fi | logger -t fw")).toEqual([
        ACCEPT_LO,
      ]);
    });

    it("plays functions with their arguments, return statuses and the caller's || around them", () => {
      const script = [
        "allow() {",
        "  iptables -A INPUT -p $1 --dport $2 -j ACCEPT",
        "}",
        "allow tcp 22",
        "allow udp 53",
        'log_and_drop() { iptables -A INPUT -j LOG --log-prefix "$*: "; iptables -A INPUT -j DROP; }',
        'function many { for p in "$@"; do iptables -A FORWARD -p tcp --dport $p -j ACCEPT; done; return 0; }',
        "many 80 443",
        'has_chain() { iptables -L "$1" >/dev/null 2>&1; }',
        "has_chain LOGDROP || iptables -N LOGDROP",
        'check() { [ "$1" = yes ] && return 0; return 1; }',
        "if check no; then iptables -A INPUT -s 10.0.0.9 -j DROP; fi",
        "log_and_drop fw drop",
      ].join("\n");
      const doc = scriptToRestore(script);
      expect(lines(doc.text).filter((l) => l.startsWith("-A") || l.startsWith(":LOG"))).toEqual([
        ":LOGDROP - [0:0]",
        "-A INPUT -p tcp --dport 22 -j ACCEPT",
        "-A INPUT -p udp --dport 53 -j ACCEPT",
        '-A INPUT -j LOG --log-prefix "fw drop: "',
        "-A INPUT -j DROP",
        "-A FORWARD -p tcp --dport 80 -j ACCEPT",
        "-A FORWARD -p tcp --dport 443 -j ACCEPT",
      ]);
      // A rule keeps the line it is written on, inside the function.
      const at = lines(doc.text).indexOf("-A INPUT -p udp --dport 53 -j ACCEPT");
      expect(doc.sourceLine(at + 1)).toBe(2);
      expect(fail("f() { f; }\nf")).toMatchObject({ message: expect.stringContaining("50 deep") });
    });

    it("plays functions as dash does where a review found them apart", () => {
      const one = (script: string) => rules(script);
      // A missing argument is empty; a default for an argument; "$@" of nothing is no word.
      expect(
        one(
          // biome-ignore lint/suspicious/noTemplateCurlyInString: the shell's ${3:-ACCEPT}, not a template
          'allow() { if [ -n "$2" ]; then iptables -A INPUT -p tcp --dport "$1" -s "$2" -j "${3:-ACCEPT}"; else iptables -A INPUT -p tcp --dport "$1" -j "${3:-ACCEPT}"; fi; }\nallow 80\nallow 22 10.0.0.1 DROP\ndrop() { iptables -A INPUT "$@" -j DROP; }\ndrop',
        ),
      ).toEqual([
        "-A INPUT -p tcp --dport 80 -j ACCEPT",
        "-A INPUT -p tcp --dport 22 -s 10.0.0.1 -j DROP",
        "-A INPUT -j DROP",
      ]);
      // local is the function's; a prefix assignment holds for the call; unset -f forgets.
      expect(
        one(
          'p=22\nf() { local p=80; iptables -A INPUT -p tcp --dport "$p" -j ACCEPT; }\nf\niptables -A INPUT -p tcp --dport "$p" -j ACCEPT\nPORT=443\ng() { iptables -A INPUT -p tcp --dport "$PORT" -j ACCEPT; }\nPORT=8443 g\ng\nunset -f g\nfor c in A; do command -v g >/dev/null || iptables -A INPUT -j RETURN; done',
        ),
      ).toEqual([
        "-A INPUT -p tcp --dport 80 -j ACCEPT",
        "-A INPUT -p tcp --dport 22 -j ACCEPT",
        "-A INPUT -p tcp --dport 8443 -j ACCEPT",
        "-A INPUT -p tcp --dport 443 -j ACCEPT",
        "-A INPUT -j RETURN",
      ]);
      // `iptables -C ... && return 0` asks; return N stays N in $?; `command iptables` is the tool.
      expect(
        one(
          'add() { iptables -C INPUT "$@" 2>/dev/null && return 0; iptables -A INPUT "$@"; }\nadd -p tcp --dport 22 -j ACCEPT\nadd -p tcp --dport 22 -j ACCEPT\nf() { return 2; }\nf\nif [ $? -eq 2 ]; then iptables -A INPUT -j LOG; fi\niptables() { command iptables -w "$@"; }\niptables -A INPUT -j DROP\nmain() { iptables -A FORWARD -j DROP; }\nmain "$@"',
        ),
      ).toEqual([
        "-A INPUT -p tcp --dport 22 -j ACCEPT",
        "-A INPUT -j LOG",
        "-A INPUT -j DROP",
        "-A FORWARD -j DROP",
      ]);
      // An assignment keeps a value's spaces.
      expect(one('c="a  b"\nd=$c\niptables -A INPUT -m comment --comment "$d" -j ACCEPT')).toEqual([
        '-A INPUT -m comment --comment "a  b" -j ACCEPT',
      ]);
      // A script that gives up (die) loads nothing; a function's output into a pipe, set --, refused.
      expect(
        fail(
          'die() { echo "$*" >&2; exit 1; }\niptables -A INPUT -i lo -j ACCEPT\niptables -A NOCHAIN -j DROP || die "no chain"',
        ),
      ).toMatchObject({ line: 1, message: expect.stringContaining("exits with status 1") });
      expect(fail("gen() { echo COMMIT; }\ngen | iptables-restore")).toMatchObject({
        line: 2,
        message: expect.stringContaining("into a pipe"),
      });
      expect(fail("f() { set -- INPUT ACCEPT; iptables -A $1 -j $2; }\nf FORWARD DROP")).toMatchObject({
        message: expect.stringContaining("would change the arguments"),
      });
    });

    it("splits unquoted values into words and keeps quoted ones whole", () => {
      const script = [
        'IPT="/sbin/iptables -w 5"',
        'export LAN_NET="10.0.1.0/24"',
        'PREFIX="fw drop: "',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the shell's ${NAME}, not a template
        '$IPT -A INPUT -s ${LAN_NET} -j LOG --log-prefix "$PREFIX"',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the shell's ${NAME:-default}
        "$IPT -A INPUT -s ${DMZ_NET:-10.0.2.0/24} -j ACCEPT",
      ].join("\n");
      expect(rules(script)).toEqual([
        '-A INPUT -s 10.0.1.0/24 -j LOG --log-prefix "fw drop: "',
        "-A INPUT -s 10.0.2.0/24 -j ACCEPT",
      ]);
    });

    it("stops at exit, takes the tools' file tests as true, and keeps the kernel settings it writes", () => {
      const doc = scriptToRestore(
        [
          "#!/bin/sh",
          "set -e",
          "[ -x /sbin/iptables ] || exit 0",
          "modprobe nf_conntrack_ftp",
          'echo "1" > /proc/sys/net/ipv4/ip_forward',
          "for f in /proc/sys/net/ipv4/conf/*/rp_filter; do echo 1 > $f; done",
          "sysctl -q -w net.ipv4.tcp_syncookies=1 net.ipv4.icmp_echo_ignore_broadcasts=1",
          "iptables -P INPUT DROP",
          "exit 0",
          "iptables -A INPUT -j ACCEPT",
        ].join("\n"),
      );
      expect(lines(doc.text)).toContain(":INPUT DROP [0:0]");
      expect(lines(doc.text).filter((l) => l.startsWith("-A"))).toEqual([]);
      expect(doc.sysctls).toEqual([
        { key: "net.ipv4.ip_forward", value: "1", line: 5 },
        { key: "net.ipv4.conf.*.rp_filter", value: "1", line: 6 },
        { key: "net.ipv4.tcp_syncookies", value: "1", line: 7 },
        { key: "net.ipv4.icmp_echo_ignore_broadcasts", value: "1", line: 7 },
      ]);
    });

    it("refuses, with its line, what only a real shell could decide", () => {
      expect(fail("iptables -F\niptables -A INPUT -s $X -j ACCEPT")).toMatchObject({
        line: 2,
        message: expect.stringContaining("$X is not set"),
      });
      expect(fail("if [ -f /etc/fw.conf ]; then\n  iptables -F\nfi")).toMatchObject({
        line: 1,
        message: expect.stringContaining("what a firewall node has"),
      });
      expect(fail("iptables -F\nif [ -x /sbin/iptables ]; then\n  iptables -X\n")).toMatchObject({
        line: 2,
        message: expect.stringContaining('"if" without its "fi"'),
      });
      expect(fail("iptables -F\nfi")).toMatchObject({
        line: 2,
        message: expect.stringContaining('"fi" without'),
      });
      // -a and -o join what can be decided; one part that cannot be makes the whole refused.
      expect(fail("if [ A = B -o -f /etc/fw.conf ]; then iptables -F; fi")).toMatchObject({
        message: expect.stringContaining("joined by -a and -o"),
      });
      const rules = (script: string) => lines(scriptToRestore(script).text).filter((l) => l.startsWith("-A"));
      expect(
        rules(
          [
            "[ -x /sbin/iptables -a -x /sbin/ip6tables ] && iptables -A INPUT -s 10.0.0.1 -j ACCEPT",
            "[ A = B -o ! -x /usr/sbin/ufw ] && iptables -A INPUT -s 10.0.0.2 -j ACCEPT",
            "[ A = A -a B = C -o 1 -lt 2 ] && iptables -A INPUT -s 10.0.0.3 -j ACCEPT",
            "[ -n x -a -z x ] && iptables -A INPUT -s 10.0.0.4 -j ACCEPT",
            "[ x -a '' ] || iptables -A INPUT -s 10.0.0.5 -j ACCEPT",
          ].join("\n"),
        ),
      ).toEqual([
        "-A INPUT -s 10.0.0.1 -j ACCEPT",
        "-A INPUT -s 10.0.0.2 -j ACCEPT",
        "-A INPUT -s 10.0.0.3 -j ACCEPT",
        "-A INPUT -s 10.0.0.5 -j ACCEPT",
      ]);
      expect(fail('case "$1" in start) iptables -F ;; esac')).toMatchObject({
        message: expect.stringContaining('shell "case" is not supported'),
      });
      expect(fail("iptables -A INPUT -s $1 -j ACCEPT")).toMatchObject({
        message: expect.stringContaining("$1 is not supported"),
      });
      expect(fail("fw_start() (\n iptables -F\n)")).toMatchObject({ line: 1 });
      expect(
        fail("allow() { iptables -A INPUT -p tcp --dport $1 -j ACCEPT; }\niptables -A INPUT -s $1 -j DROP"),
      ).toMatchObject({
        line: 2,
        message: expect.stringContaining("$1.. only in a function"),
      });
      expect(
        fail("for p in $(seq 1 5); do iptables -A INPUT -p tcp --dport $p -j ACCEPT; done"),
      ).toMatchObject({
        message: expect.stringContaining("command substitution $(...)"),
      });
      // A tool's path is what the node would answer: scripts find iptables so.
      expect(
        lines(
          scriptToRestore(
            'IPT=$(which iptables)\nIP6T="`command -v ip6tables`"\nUFW=$(which ufw)\n$IPT -P INPUT DROP\n[ -z "$UFW" ] && $IPT -A INPUT -i lo -j ACCEPT\n[ "$IP6T" = /usr/sbin/ip6tables ] && $IPT -A INPUT -p tcp --dport 22 -j ACCEPT',
          ).text,
        ).filter((l) => l.startsWith("-A") || l.startsWith(":INPUT")),
      ).toEqual([":INPUT DROP [0:0]", "-A INPUT -i lo -j ACCEPT", "-A INPUT -p tcp --dport 22 -j ACCEPT"]);
      expect(fail("IPT=$(which iptables | head -1)")).toMatchObject({
        message: expect.stringContaining("only a tool's path, $(which iptables) or $(command -v nft), is"),
      });
      expect(fail("for p in 22 80; do iptables -A INPUT -p tcp --dport $p -j ACCEPT")).toMatchObject({
        line: 1,
        message: expect.stringContaining('without its "done"'),
      });
      // Unset in a test is empty, as in sh: the branch is not taken.
      expect(scriptToRestore('[ "$MODE" = strict ] && iptables -P INPUT DROP').text).not.toContain("DROP");
      expect(fail("MODE=strict\n[ $MODE = ] && iptables -P INPUT DROP")).toMatchObject({
        line: 2,
        message: expect.stringContaining("what a firewall node has"),
      });
      expect(fail("echo 1 > /proc/sys/kernel/panic\niptables -F")).toMatchObject({
        line: 1,
        message: expect.stringContaining(
          "kernel.panic is not a setting of the firewall's own network namespace",
        ),
      });
      expect(fail("iptables -L INPUT | grep -q DROP || iptables -A INPUT -j DROP")).toMatchObject({
        message: expect.stringContaining("into a pipe"),
      });
    });

    it("does what dash does where a played shell is easy to get wrong", () => {
      const rules6 = (script: string) => rules(script);
      // A redirection's fd is the digits touching it; a word "2" before "2>" stays the command's.
      expect(rules6("iptables -t mangle -A PREROUTING -j MARK --set-mark 2 >/dev/null 2>&1")).toEqual([
        "-A PREROUTING -j MARK --set-mark 2",
      ]);
      expect(scriptToRestore("echo 2 > /proc/sys/net/ipv4/conf/all/rp_filter 2>&1").sysctls).toEqual([
        { key: "net.ipv4.conf.all.rp_filter", value: "2", line: 1 },
      ]);
      expect(scriptToRestore("echo 1 > /proc/sys/net/ipv4/ip_forward 2>/dev/null").sysctls).toEqual([
        { key: "net.ipv4.ip_forward", value: "1", line: 1 },
      ]);
      // A # inside a word is the word's; one that starts a word starts a comment.
      expect(rules6("iptables -A INPUT -m comment --comment rule#1 -j ACCEPT # the first")).toEqual([
        '-A INPUT -m comment --comment "rule#1" -j ACCEPT',
      ]);
      // Assignments: several on a line, export lists, a command's own environment, unset.
      expect(
        rules6(
          // biome-ignore lint/suspicious/noTemplateCurlyInString: the shell's ${NAME:-default}
          "export WAN=wan LAN=lan\nA=1 B=2\nLANG=C iptables -A INPUT -i $WAN -j ACCEPT\nunset A\niptables -A INPUT -i $LAN -m mark --mark ${A:-$B} -j ACCEPT",
        ),
      ).toEqual(["-A INPUT -i wan -j ACCEPT", "-A INPUT -i lan -m mark --mark 2 -j ACCEPT"]);
      // -C tells whether a rule is there, so `-C || -A` adds it once.
      expect(
        rules6(
          "iptables -A INPUT -p tcp --dport 22 -j ACCEPT\niptables -C INPUT -p tcp --dport 22 -j ACCEPT || iptables -A INPUT -p tcp --dport 22 -j ACCEPT",
        ),
      ).toEqual(["-A INPUT -p tcp --dport 22 -j ACCEPT"]);
      // A loop's status is its last command's.
      expect(rules6("for p in 1; do false; done && iptables -A INPUT -j DROP")).toEqual([]);
      // An escaped backslash at the end of a line does not continue it.
      expect(fail("iptables -A INPUT -j LOG --log-prefix a\\\\\niptables -A NOPE -j DROP")).toMatchObject({
        line: 2,
      });
    });

    it("lets nothing a script says become a line of its own in the restore document", () => {
      expect(fail("iptables -A INPUT -m comment --comment $'x\\nCOMMIT' -j ACCEPT")).toMatchObject({
        message: expect.stringContaining("bash's $'...' quoting is not played"),
      });
      expect(fail('iptables -N "X Y"')).toMatchObject({
        message: expect.stringContaining("not a chain name"),
      });
      expect(fail('iptables -A INPUT -j LOG --log-prefix "a\tb"')).toMatchObject({
        message: expect.stringContaining("a control character"),
      });
      expect(fail("echo 1 | tee /proc/sys/net/ipv4/ip_forward")).toMatchObject({
        message: expect.stringContaining("a pipe into tee"),
      });
      expect(fail("printf '%s' 1 > /proc/sys/net/ipv4/ip_forward")).toMatchObject({
        message: expect.stringContaining("a setting is played from echo"),
      });
      expect(fail("[ -f /var/run/fw.lock ] && exit 0")).toMatchObject({
        message: expect.stringContaining("what a firewall node has"),
      });
    });
  });
});

describe("nftScriptDocument", () => {
  const script = readFileSync("test/fixtures/rulesets/nft-commands.sh", "utf8");
  const nftFail = refusal(nftScriptDocument);

  it("is how a shell script of nft commands is told from one of iptables commands", () => {
    expect(detectRulesetFormat("router.sh", script)).toBe("nft-script");
    expect(detectRulesetFormat("r.sh", "IPT=iptables\n$IPT -F\nnft list ruleset\n")).toBe("iptables-script");
    expect(detectRulesetFormat("r.sh", "iptables -F\n")).toBe("iptables-script");
    expect(detectRulesetFormat("r.nft", "add table inet t\n")).toBe("nft");
  });

  it("plays each nft command, as the shell hands nft its words, into one document after flush ruleset", () => {
    const doc = nftScriptDocument(script);
    const out = lines(doc.text);
    expect(out[0]).toBe("flush ruleset");
    expect(out).toContain("add chain inet filter input { type filter hook input priority 0; policy drop; }");
    expect(out).toContain(
      "add chain inet filter forward { type filter hook forward priority 0 ; policy drop ; }",
    );
    expect(out).toContain("add rule inet filter input iifname lan tcp dport 22 accept");
    expect(out.filter((l) => l.includes("oifname dmz tcp dport"))).toEqual([
      "add rule inet filter forward iifname lan oifname dmz tcp dport 80 accept",
      "add rule inet filter forward iifname lan oifname dmz tcp dport 443 accept",
    ]);
    expect(out.at(-1)).toBe('add rule inet filter forward log prefix "nft drop: " counter drop');
    expect(out).not.toContain("list ruleset");
    // nft's errors name a document line: it maps back to the script's.
    expect(doc.sourceLine(out.indexOf("add rule inet filter input iifname lo accept") + 1)).toBe(11);
    expect(doc.sourceLine(1)).toBeUndefined();
  });

  it("refuses what is not an nft command of its own, with the line", () => {
    expect(nftFail("nft add table inet t\niptables -F\n")).toMatchObject({
      line: 2,
      message: expect.stringContaining('"iptables" in a script of nft commands'),
    });
    expect(nftFail("nft -f /etc/nftables.conf\n")).toMatchObject({
      message: expect.stringContaining("load that file itself"),
    });
    expect(fail("iptables -F\nnft flush ruleset\n")).toMatchObject({
      line: 2,
      message: expect.stringContaining("iptables commands or nft commands, not both"),
    });
  });
});

describe("a script's ipset commands", () => {
  it("become the sets its rules match: created, flushed and filled, each line mapped to the script's", () => {
    const doc = scriptToRestore(readFileSync("test/fixtures/rulesets/ipset-blocklist.sh", "utf8"));
    expect(lines(doc.ipsets!.text)).toEqual([
      "create blocklist hash:net",
      "flush blocklist",
      "add blocklist 10.0.1.10",
      "add blocklist 203.0.113.0/24",
    ]);
    expect([1, 2, 3, 4].map((n) => doc.ipsets!.sourceLine(n))).toEqual([5, 5, 8, 8]);
    expect(lines(doc.text)).toContain("-A FORWARD -m set --match-set blocklist src -j DROP");
  });

  it("plays them as ipset runs them: -exist, test, del, flush, destroy, and failures a || catches", () => {
    const doc = scriptToRestore(
      [
        "ipset -N allow hash:ip",
        "ipset -A allow 10.0.1.10; ipset add allow 10.0.1.11",
        "ipset add allow 10.0.1.10 2>/dev/null || echo already there",
        "ipset test allow 10.0.1.12 || ipset add allow 10.0.1.12",
        "ipset del allow 10.0.1.11",
        "ipset create gone hash:ip; ipset destroy gone",
        "ipset add missing 10.0.0.1 || true",
      ].join("\n"),
    );
    expect(lines(doc.ipsets!.text)).toEqual([
      "create allow hash:ip",
      "flush allow",
      "add allow 10.0.1.10",
      "add allow 10.0.1.12",
    ]);
    expect(fail("ipset create a hash:ip\nipset create a hash:ip\n")).toMatchObject({
      line: 2,
      message: expect.stringContaining("a set named a already exists"),
    });
    expect(fail("ipset add nope 10.0.0.1")).toMatchObject({
      message: expect.stringContaining("(nope) does not exist"),
    });
    expect(fail("ipset restore -f /etc/ipset.conf")).toMatchObject({
      message: expect.stringContaining("-file"),
    });
    expect(fail("ipset swap a b")).toMatchObject({ message: expect.stringContaining("not played") });
    expect(fail("cat /etc/ipset.conf | ipset restore")).toMatchObject({
      message: expect.stringContaining("a pipe into ipset"),
    });
    expect(scriptToRestore("iptables -F\n").ipsets).toBeUndefined();
  });
});
