import type { CounterDelta } from "../evidence/counters.ts";

/**
 * Which rule decided a packet, from the counters that moved during the step: the first rule
 * (or policy) with a final target in a filter chain, e.g. "accepted by filter INPUT rule 3".
 */
export function decidingRule(deltas: Readonly<Record<string, readonly CounterDelta[]>>): string | undefined {
  for (const [node, list] of Object.entries(deltas)) {
    for (const chain of ["INPUT", "FORWARD", "OUTPUT"]) {
      const moved = list.filter((d) => d.table === "filter" && d.chain === chain && d.packets > 0);
      const rule = moved.find((d) => d.rule !== undefined && /-j (ACCEPT|DROP|REJECT)\b/.test(d.spec));
      const target = rule
        ? /-j (ACCEPT|DROP|REJECT)\b/.exec(rule.spec)![1]!
        : moved.find((d) => d.rule === undefined)?.spec.split(" ")[1];
      if (!target) continue;
      const verb = target === "ACCEPT" ? "accepted" : target === "DROP" ? "dropped" : "rejected";
      const where = rule
        ? `rule ${rule.rule}${rule.comment ? ` ("${rule.comment}")` : ""}`
        : `policy ${target}`;
      return `${verb} by ${node} filter ${chain} ${where}`;
    }
  }
  return undefined;
}
