import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadRuleset } from "../../src/firewall/load-ruleset.ts";
import type { NodeExec } from "../../src/runtime/exec-result.ts";

// A ruleset saved on Windows: every tool on a Linux host chokes on its CRs in its own way
// (iptables-restore: "table name 'filter' invalid"; nft: "unexpected junk"; sh: "$'\r'").
describe("a ruleset file with CRLF line endings", () => {
  const dir = mkdtempSync(join(tmpdir(), "fwlab-crlf-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const crlf = (name: string, lines: string[]) => {
    const path = join(dir, name);
    writeFileSync(path, `${lines.join("\r\n")}\r\n`);
    return path;
  };
  const sent: string[] = [];
  const exec: NodeExec = async (_argv, opts) => {
    sent.push(opts?.stdin ?? "");
    return { exitCode: 0, stdout: "", stderr: "", durationMs: 1 };
  };

  it("loads as its author meant it, in every format, and the load says what a Linux host would do", async () => {
    const files = [
      crlf("save.rules", ["*filter", ":INPUT DROP [0:0]", "-A INPUT -p tcp --dport 22 -j ACCEPT", "COMMIT"]),
      crlf("script.sh", [
        "#!/bin/sh",
        "iptables -P INPUT DROP",
        "iptables -A INPUT -p tcp --dport 22 -j ACCEPT",
      ]),
      crlf("rules.nft", [
        "table inet filter {",
        "  chain input {",
        "    type filter hook input priority 0; policy drop;",
        "  }",
        "}",
      ]),
    ];
    for (const f of files) {
      sent.length = 0;
      const r = await loadRuleset("fw", exec, f);
      expect(sent.join(""), f).not.toContain("\r");
      expect(r.notes[0], f).toMatch(/lines end in CRLF \(saved on Windows\).*dos2unix/);
    }
  });

  it("Notepad's byte-order mark before the first line is left out too", async () => {
    const path = join(dir, "bom.rules");
    writeFileSync(path, "\uFEFF*filter\n:INPUT DROP [0:0]\nCOMMIT\n");
    sent.length = 0;
    const r = await loadRuleset("fw", exec, path);
    expect(sent[0]!.startsWith("*filter\n")).toBe(true);
    expect(r.notes).toEqual([expect.stringMatching(/starts with a byte-order mark \(saved on Windows\)/)]);
  });
});
