import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { AgentResult } from "../../src/probes/probe-agent.ts";
import { scratchDir } from "../support/scratch-dir.ts";

// The agent's scan handler (images/common/usr/local/lib/fwlab/probes/scan.js) run by plain Node
// with nmap stood in for by a canned XML report: how it asks nmap, and how it reads the report.
const dir = scratchDir("scan-agent");
mkdirSync(join(dir, "probes"));
copyFileSync("images/common/usr/local/lib/fwlab/probes/scan.js", join(dir, "probes", "scan.js"));
writeFileSync(
  join(dir, "probe-lib.js"),
  "module.exports = { run: async (file, args) => { globalThis.nmapArgs = args; return { code: 0, stdout: globalThis.nmapXml, stderr: '' }; } };",
);
const scanAgent = createRequire(import.meta.url)(join(dir, "probes", "scan.js")) as (
  req: Record<string, unknown>,
  ctx: object,
) => Promise<AgentResult>;
const g = globalThis as { nmapXml?: string; nmapArgs?: string[] };

const report = (ports: string) =>
  `<?xml version="1.0"?><nmaprun><host><status state="up"/><address addr="10.0.2.80" addrtype="ipv4"/><ports>${ports}</ports></host></nmaprun>`;
const scan = (ports: string) =>
  scanAgent(
    { host: "10.0.2.80", ports, technique: "udp", waitMs: 500 },
    { signal: new AbortController().signal },
  );

describe("the scan probe in the agent", () => {
  it("reads ports listed one by one, and asks nmap for one probe per port, in order, at a paced rate", async () => {
    g.nmapXml = report(
      '<port protocol="udp" portid="53"><state state="open" reason="udp-response" reason_ttl="63"/></port>' +
        '<port protocol="udp" portid="123"><state state="open|filtered" reason="no-response" reason_ttl="0"/></port>',
    );
    const r = await scan("53,123");
    expect(r.facts?.ports).toEqual({
      "53": { state: "open", reason: "udp-response" },
      "123": { state: "open|filtered", reason: "no-response" },
    });
    expect(r.detail).toBe("53 open (udp-response), 123 open|filtered (no-response)");
    expect(g.nmapArgs).toEqual(expect.arrayContaining(["-r", "--max-retries", "0", "--max-rate", "500"]));
  });

  it("reads ports nmap sums up (more than a couple of dozen in one state), each with its reason", async () => {
    g.nmapXml = report(
      '<extraports state="closed" count="42"><extrareasons reason="port-unreach" count="41" proto="udp" ports="22,9100-9139"/>' +
        '<extrareasons reason="admin-prohibited" count="1" proto="udp" ports="9140"/></extraports>' +
        '<port protocol="udp" portid="53"><state state="open" reason="udp-response" reason_ttl="63"/></port>',
    );
    const ports = ["22", "53", ...Array.from({ length: 41 }, (_, i) => String(9100 + i))].join(",");
    const r = await scan(ports);
    const got = r.facts?.ports as Record<string, { state: string; reason: string }>;
    expect(Object.keys(got)).toHaveLength(43);
    expect(got["9100"]).toEqual({ state: "closed", reason: "port-unreach" });
    expect(got["9139"]).toEqual({ state: "closed", reason: "port-unreach" });
    expect(got["9140"]).toEqual({ state: "closed", reason: "admin-prohibited" });
    expect(got["22"]).toEqual({ state: "closed", reason: "port-unreach" });
    expect(got["53"]).toEqual({ state: "open", reason: "udp-response" });
    expect(r.detail).toBe(
      "41 ports closed (port-unreach), 1 port open (udp-response), 1 port closed (admin-prohibited)",
    );
  });
});
