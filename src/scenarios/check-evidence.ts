import type { CounterDelta } from "../evidence/counters.ts";
import type { ConntrackChangeEvent, PacketLogEvent } from "../evidence/events.ts";
import type { ConntrackTuple } from "../evidence/parse-conntrack.ts";
import type { EvidenceExpectation } from "./scenario-schema.ts";
import type { Check } from "./step-result.ts";

/** Checks a step's expected evidence against what the firewall reported during the step. */
export function checkEvidence(
  want: EvidenceExpectation,
  got: {
    logs: readonly PacketLogEvent[];
    conntrack: readonly ConntrackChangeEvent[];
    counters: Record<string, readonly CounterDelta[]>;
    seenFrom?: string;
  },
): Check[] {
  const checks: Check[] = [];
  for (const l of want.log ?? []) {
    const lines = got.logs.filter(
      (e) => e.node === l.node && e.prefix === l.prefix.trim() && (!l.source || e.source === l.source),
    );
    const ok = l.count === undefined ? lines.length > 0 : lines.length === l.count;
    checks.push({
      what: `${l.source ?? "log"} "${l.prefix.trim()}" on ${l.node}${l.count !== undefined ? ` x${l.count}` : ""}`,
      ok,
      detail: `${lines.length} line${lines.length === 1 ? "" : "s"}`,
    });
  }
  for (const c of want.conntrack ?? []) {
    const match = got.conntrack.filter(
      (e) =>
        e.node === c.node &&
        (!c.proto || e.entry.proto === c.proto) &&
        (!c.state || e.entry.state === c.state) &&
        tupleMatches(e.entry.original, c.original) &&
        tupleMatches(e.entry.reply, c.reply) &&
        (!c.helper || e.entry.helper === c.helper) &&
        (!c.nat || c.nat === (e.entry.nat.snat ? "snat" : e.entry.nat.dnat ? "dnat" : "none")),
    );
    const present = c.present ?? true;
    const ok = present ? match.length > 0 : match.length === 0;
    const desc = [
      c.proto,
      c.state,
      c.original && `orig ${fmt(c.original)}`,
      c.reply && `reply ${fmt(c.reply)}`,
      c.nat,
    ]
      .filter(Boolean)
      .join(" ");
    checks.push({
      what: `conntrack on ${c.node}: ${present ? "" : "no "}${desc}`,
      ok,
      detail: match.length
        ? `${match.length} matching events`
        : `none of ${got.conntrack.filter((e) => e.node === c.node).length} events matched`,
    });
  }
  for (const c of want.counters ?? []) {
    const d = (got.counters[c.node] ?? []).find(
      (x) =>
        x.chain === c.chain &&
        x.table === (c.table ?? "filter") &&
        (c.rule !== undefined
          ? x.rule === c.rule
          : c.comment !== undefined
            ? x.comment === c.comment
            : x.rule === undefined),
    );
    const packets = d?.packets ?? 0;
    const ok = typeof c.packets === "number" ? packets === c.packets : packets >= c.packets.min;
    const which =
      c.rule !== undefined ? `rule ${c.rule}` : c.comment !== undefined ? `"${c.comment}"` : "policy";
    checks.push({
      what: `counter ${c.node} ${c.table ?? "filter"} ${c.chain} ${which} +${typeof c.packets === "number" ? c.packets : `>=${c.packets.min}`}`,
      ok,
      detail: `+${packets} packets`,
    });
  }
  if (want.seenFrom !== undefined) {
    checks.push({
      what: `far side saw ${want.seenFrom}`,
      ok: got.seenFrom === want.seenFrom,
      detail: `saw ${got.seenFrom ?? "nothing"}`,
    });
  }
  return checks;
}

function tupleMatches(t: ConntrackTuple, want?: Partial<ConntrackTuple>): boolean {
  if (!want) return true;
  return (Object.keys(want) as (keyof ConntrackTuple)[]).every(
    (k) => want[k] === undefined || t[k] === want[k],
  );
}

const fmt = (t: Partial<ConntrackTuple>) =>
  `${t.src ?? "*"}${t.sport ? `:${t.sport}` : ""}->${t.dst ?? "*"}${t.dport ? `:${t.dport}` : ""}`;
