import { groupsIn } from "../firewall/nflog-groups.ts";
import { parseListing } from "../firewall/rule-handles.ts";
import { rulesetSettings } from "../firewall/ruleset-file.ts";
import { TRACE_TABLE } from "../firewall/trace-table.ts";
import type { StartedLab } from "../lab/started-lab.ts";
import type { NodeExec } from "../runtime/exec-result.ts";
import { isBackend } from "../topology/compose-schema.ts";
import { OWNER, ownerAlive } from "../util/owner.ts";
import type { Progress } from "../util/progress.ts";
import type { RulesetReadBack } from "./lab-watchers.ts";
import type { LoadedScenario } from "./read-scenario-file.ts";

/** What a scenario will change on a lab's firewalls, to put it back afterwards. */
export interface SavedState {
  /** rules6: the IPv6 half of an iptables ruleset (fwlab-ruleset's active6.rules), if any. */
  readonly rulesets: { node: string; backend: string; rules: string; rules6?: string }[];
  readonly sysctls: { node: string; key: string; value: string }[];
}

// The journal: each firewall keeps what the running scenario must put back, with the run's
// owner. A run killed with -9 cannot restore anything; the next run finds
// the journal of a dead owner and puts the lab back first.
const JOURNAL = "/run/fwlab/run-journal.json";

interface Journal {
  readonly owner: string;
  readonly started: string;
  readonly ruleset: SavedState["rulesets"][number];
  readonly sysctls: SavedState["sysctls"];
}

/**
 * Reads what the scenario will change, and writes it to each firewall's journal (sysctls of
 * other nodes go to the first firewall's). `exec` runs the commands (the nodes' agents). Rulesets
 * an earlier scenario of the run left in place (`kept`) are still the ones to put back.
 */
export async function saveState(
  lab: StartedLab,
  firewalls: readonly string[],
  s: LoadedScenario,
  exec: (node: string) => NodeExec = (node) => (argv, o) => lab.exec(node, argv, o),
  kept: SavedState["rulesets"] = [],
): Promise<SavedState> {
  const rulesets = await Promise.all(
    firewalls.map(async (node) => {
      const k = kept.find((x) => x.node === node);
      if (k) return k;
      const r = await exec(node)([
        "sh",
        "-c",
        "cat /run/fwlab/active.backend 2>/dev/null || echo iptables-nft; echo ---; cat /run/fwlab/active.rules 2>/dev/null; echo; echo ---; cat /run/fwlab/active6.rules 2>/dev/null",
      ]);
      const [backend, rules, rules6] = r.stdout.split("\n---\n");
      return {
        node,
        backend: backend!.trim(),
        rules: (rules ?? "").replace(/\n$/, ""),
        ...(rules6?.trim() ? { rules6 } : {}),
      };
    }),
  );
  const sysctls: SavedState["sysctls"] = [];
  const keys = [
    ...Object.entries(s.scenario.setup ?? {}).flatMap(([node, setup]) =>
      Object.keys(setup.sysctls ?? {}).map((key) => ({ node, key })),
    ),
    ...s.scenario.steps.flatMap((step) =>
      "sysctl" in step ? Object.keys(step.sysctl.set).map((key) => ({ node: step.sysctl.node, key })) : [],
    ),
  ];
  for (const { node, key } of keys) {
    if (!sysctls.some((x) => x.node === node && x.key === key))
      sysctls.push({ node, key, value: await lab.getSysctl(node, key) });
  }
  // What the scenario's ruleset scripts write (`echo 1 > /proc/sys/...`), each key a pattern may
  // name (`net.ipv4.conf.*.rp_filter`) as the node has them now.
  for (const { node, key } of scriptKeys(s)) {
    for (const found of await lab.getSysctls(node, key))
      if (!sysctls.some((x) => x.node === node && x.key === found.key)) sysctls.push({ node, ...found });
  }
  const others = sysctls.filter((x) => !firewalls.includes(x.node));
  await Promise.all(
    rulesets.map((ruleset, i) => {
      const journal: Journal = {
        owner: OWNER,
        started: new Date().toISOString(),
        ruleset,
        sysctls: [...sysctls.filter((x) => x.node === ruleset.node), ...(i === 0 ? others : [])],
      };
      return exec(ruleset.node)(["sh", "-c", `mkdir -p /run/fwlab && cat > ${JOURNAL}`], {
        stdin: JSON.stringify(journal),
      });
    }),
  );
  return { rulesets, sysctls };
}

/** The net.* keys the ruleset scripts of a scenario write, by node (its rulesets and load steps). */
function scriptKeys(s: LoadedScenario): { node: string; key: string }[] {
  const files = [
    ...Object.entries(s.scenario.rulesets ?? {}).map(([node, ref]) =>
      typeof ref === "string" ? { node, file: ref } : { node, file: ref.file, ipv6: ref.ipv6 },
    ),
    ...s.scenario.steps.flatMap((step) =>
      "load" in step ? [{ node: step.load.node, file: step.load.file, ipv6: step.load.ipv6 }] : [],
    ),
  ];
  return files.flatMap(({ node, file, ipv6 }) =>
    [...rulesetSettings(s.path(file)), ...(ipv6 ? rulesetSettings(s.path(ipv6), { ipv6: true }) : [])].map(
      (x) => ({ node, key: x.key }),
    ),
  );
}

/**
 * Puts rulesets and sysctls back and closes the journals. Says what could not be put back, one
 * line each (a journal stays where its ruleset or sysctl was not restored: the next run tries
 * again), and, with `ownTables`, each reloaded ruleset as traces are numbered against.
 */
export async function restoreState(
  lab: StartedLab,
  saved: SavedState,
  opts: {
    exec?: (node: string) => NodeExec;
    ownTables?: (node: string) => string | undefined;
    /** Nodes whose ruleset is left as it is (the next scenario replaces it): returned as `kept`. */
    keep?: ReadonlySet<string>;
  } = {},
): Promise<{
  problems: string[];
  listings: Map<string, RulesetReadBack>;
  kept: SavedState["rulesets"];
}> {
  const exec =
    opts.exec ??
    ((node: string): NodeExec =>
      (argv, o) =>
        lab.exec(node, argv, o));
  const failed = new Set<string>();
  const problems: string[] = [];
  const listings = new Map<string, RulesetReadBack>();
  const fail = (node: string, what: string) => {
    failed.add(node);
    problems.push(`[${node}] could not put back ${what}`);
  };
  const kept = saved.rulesets.filter((r) => opts.keep?.has(r.node));
  await Promise.all(
    saved.rulesets.map(async (r) => {
      if (kept.includes(r)) return;
      const own = opts.ownTables?.(r.node);
      const line = (text: string) => `${text}${text.endsWith("\n") || !text ? "" : "\n"}`;
      const doc = line(r.rules) + (r.rules6 ? `#fwlab-ip6#\n${line(r.rules6)}` : "");
      const res = await exec(r.node)(["fwlab-ruleset", "load", r.backend, ...(own ? ["listing"] : [])], {
        stdin: own ? `${doc}#fwlab-own#\n${own}\n` : doc,
      }).catch((err: Error) => ({ exitCode: -1, stdout: "", stderr: err.message }));
      if (res.exitCode !== 0) return fail(r.node, `its ruleset: ${res.stderr.trim()}`);
      if (!own) return;
      listings.set(r.node, {
        ...(isBackend(r.backend) ? { backend: r.backend } : {}),
        listing: parseListing(res.stdout),
        nflogGroups: groupsIn(r.rules + (r.rules6 ?? "")),
      });
    }),
  );
  // The same way they were set: from the host side in the node's namespace (/proc/sys is
  // read-only inside a container).
  for (const s of saved.sysctls) {
    await lab
      .setSysctl(s.node, s.key, s.value)
      .catch((err: Error) => fail(s.node, `${s.key}=${s.value}: ${err.message}`));
  }
  // A kept ruleset's journal stays: after a crash, the next run puts that ruleset back.
  await Promise.all(
    saved.rulesets
      .filter((r) => !failed.has(r.node) && !kept.includes(r))
      .map((r) =>
        exec(r.node)(["rm", "-f", JOURNAL]).catch((err: Error) => fail(r.node, `(journal) ${err.message}`)),
      ),
  );
  return { problems, listings, kept };
}

/**
 * Puts back what a killed run left on the lab's firewalls (its scenario's ruleset and sysctls,
 * fwlab's trace table) when that run's process is gone. Returns what it put back.
 */
export async function recoverDeadRun(lab: StartedLab, progress: Progress): Promise<string[]> {
  const done: string[] = [];
  for (const n of lab.nodes.filter((x) => x.firewall && x.state === "running")) {
    const r = await lab.exec(n.name, ["cat", JOURNAL]);
    if (r.exitCode !== 0) continue;
    let journal: Journal;
    try {
      journal = JSON.parse(r.stdout) as Journal;
    } catch {
      await lab.exec(n.name, ["rm", "-f", JOURNAL]);
      continue;
    }
    if (ownerAlive(journal.owner)) continue;
    const { problems } = await restoreState(lab, { rulesets: [journal.ruleset], sysctls: journal.sysctls });
    await lab.exec(n.name, ["sh", "-c", `nft delete table inet ${TRACE_TABLE} 2>/dev/null; true`]);
    const msg = problems.length
      ? `[${n.name}] a run that died (${journal.owner}) left changes behind; ${problems.join("; ")}`
      : `[${n.name}] put back the ruleset and sysctls a run that died (${journal.owner}, started ${journal.started}) left behind`;
    progress(msg);
    done.push(msg);
  }
  return done;
}
