import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { StartedLab } from "../lab/started-lab.ts";
import type { LabWatchers } from "./lab-watchers.ts";
import type { StepResult } from "./step-result.ts";

/** Where a scenario's failure bundles go, and what a bundle is read from. */
export interface BundleContext {
  readonly bundleDir: string;
  readonly scenarioSlug: string;
  readonly firewalls: readonly string[];
  readonly lab: StartedLab;
  readonly watchers: Pick<LabWatchers, "captures">;
}

/** A failed step leaves what the firewall knew: rules with counters, conntrack, log lines, pcap. */
export async function writeBundle(
  ctx: BundleContext,
  r: StepResult,
  from: number,
  to: number,
): Promise<string> {
  const dir = join(
    ctx.bundleDir,
    ctx.scenarioSlug,
    `${String(r.index + 1).padStart(2, "0")}-${slug(r.name)}`,
  );
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "step.json"), `${JSON.stringify(r, null, 2)}\n`);
  await writeFile(
    join(dir, "logs.jsonl"),
    (r.evidence?.logs ?? []).map((e) => `${JSON.stringify(e)}\n`).join(""),
  );
  for (const node of ctx.firewalls) {
    const [rules, ct] = await Promise.all([
      ctx.lab.exec(node, ["fwlab-ruleset", "list"]),
      ctx.lab.exec(node, ["conntrack", "-L", "-o", "extended,id"]),
    ]);
    await writeFile(join(dir, `${node}-rules.txt`), rules.stdout + rules.stderr);
    await writeFile(join(dir, `${node}-conntrack.txt`), ct.stdout + ct.stderr);
    await ctx.watchers.captures.get(node)?.write(join(dir, `${node}.pcap`), from - 50, to);
  }
  return dir;
}

export const slug = (s: string): string =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "")
    .slice(0, 60) || "step";
