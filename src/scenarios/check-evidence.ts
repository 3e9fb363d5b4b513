import type { CounterDelta } from "../evidence/counters.ts";
import type { ConntrackChangeEvent, PacketLogEvent, TraceEvent } from "../evidence/events.ts";
import type { ConntrackEntry, ConntrackTuple } from "../evidence/parse-conntrack.ts";
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
    /** Why the far side's address is not known, when it is not (the probe says). */
    seenHow?: string;
    tables?: Record<string, readonly ConntrackEntry[]>;
    /** The step's own packets as the firewalls traced them (empty: no trace to tell by). */
    trace?: readonly TraceEvent[];
  },
): Check[] {
  const checks: Check[] = [];
  for (const l of want.log ?? []) {
    let lines = got.logs.filter(
      (e) =>
        e.node === l.node &&
        (l.prefix === undefined || e.prefix === l.prefix.trim()) &&
        (!l.source || e.source === l.source),
    );
    // "No such line" is about the step's own packets: a line of another flow that happened to
    // cross the firewall meanwhile (a retransmitted SYN of an earlier step's FTP data
    // connection, say) is not one of them. Told by the step's trace, when there is one.
    if (l.count === 0 && got.trace?.length)
      lines = lines.filter((e) => got.trace!.some((t) => ofTraced(e, t)));
    const ok = l.count === undefined ? lines.length > 0 : lines.length === l.count;
    checks.push({
      what: `${l.source ?? "log"} ${l.prefix === undefined ? "(any prefix)" : `"${l.prefix.trim()}"`} on ${l.node}${l.count !== undefined ? ` x${l.count}` : ""}`,
      ok,
      detail: `${lines.length} line${lines.length === 1 ? "" : "s"}`,
    });
  }
  if (want.logOrder) {
    const { node, prefixes } = want.logOrder;
    const firsts = prefixes.map((p) => got.logs.findIndex((e) => e.node === node && e.prefix === p.trim()));
    const ok = firsts.every((i) => i >= 0) && firsts.every((i, k) => k === 0 || i > firsts[k - 1]!);
    const seen = [...new Set(got.logs.filter((e) => e.node === node).map((e) => e.prefix))];
    checks.push({
      what: `order on ${node}: ${prefixes.join(" > ")}`,
      ok,
      detail: `seen ${seen.join(" > ") || "nothing"}`,
    });
  }
  const entryMatches = (c: (typeof want.conntrack & {})[number]) => (e: ConntrackEntry) =>
    (!c.proto || e.proto === c.proto) &&
    (!c.state || e.state === c.state) &&
    tupleMatches(e.original, c.original) &&
    tupleMatches(e.reply, c.reply) &&
    (!c.helper || e.helper === c.helper) &&
    (!c.nat || c.nat === (e.nat.snat ? "snat" : e.nat.dnat ? "dnat" : "none"));
  for (const c of want.conntrackTable ?? []) {
    const table = got.tables?.[c.node] ?? [];
    const match = table.filter(entryMatches(c));
    const present = c.present ?? true;
    checks.push({
      what: `conntrack table of ${c.node}: ${present ? "" : "no "}${[c.proto, c.state, c.original && `orig ${fmt(c.original)}`].filter(Boolean).join(" ")}`,
      ok: present ? match.length > 0 : match.length === 0,
      detail: match.length
        ? match.map((e) => `${e.state ?? e.proto} ttl ${e.timeout}s`).join(", ")
        : `not among ${table.length} entries`,
    });
  }
  for (const c of want.conntrack ?? []) {
    const match = got.conntrack.filter((e) => e.node === c.node && entryMatches(c)(e.entry));
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
    const ok =
      !d?.uncounted && (typeof c.packets === "number" ? packets === c.packets : packets >= c.packets.min);
    const which =
      c.rule !== undefined ? `rule ${c.rule}` : c.comment !== undefined ? `"${c.comment}"` : "policy";
    checks.push({
      what: `counter ${c.node} ${c.table ?? "filter"} ${c.chain} ${which} +${typeof c.packets === "number" ? c.packets : `>=${c.packets.min}`}`,
      ok,
      detail: d?.uncounted
        ? `nft keeps no count of this rule (${d.spec}): add a \`counter\` statement to it`
        : `+${packets} packets`,
    });
  }
  if (want.seenFrom !== undefined) {
    checks.push({
      what: `far side saw ${want.seenFrom}`,
      ok: got.seenFrom === want.seenFrom,
      detail:
        got.seenFrom !== undefined
          ? `saw ${got.seenFrom}`
          : `saw nothing: ${got.seenHow ?? "its answer named no address"}`,
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

/**
 * A node's conntrack table at the end of a step: the entries a read right after it found, and
 * the entries its events show alive at `at` that a short timeout expired before the read (a
 * 1-second UDP timeout on a busy machine, say). An entry's life ends where the kernel timed its
 * end (DESTROY events carry their start and end), else when its DESTROY came. It starts where
 * the kernel timed it; without that (no DESTROY yet) it started before its NEW event came, and
 * under load that event may come after the probe's end: such an entry counts as alive at `at`,
 * as it would in the read that comes later still. Both versions of an entry that changed in
 * between are kept: a check for either state holds.
 */
export function tableAt(
  read: readonly ConntrackEntry[],
  events: readonly ConntrackChangeEvent[],
  at: number,
): ConntrackEntry[] {
  const lives = new Map<
    number,
    { start?: number; end?: number; state?: ConntrackChangeEvent; first?: ConntrackChangeEvent }
  >();
  for (const e of events) {
    const id = e.entry.ctId;
    if (id === undefined) continue;
    const life = lives.get(id) ?? {};
    if (e.type === "DESTROY") {
      life.end = e.kernelTime ?? e.time;
      if (e.kernelStart !== undefined) life.start = e.kernelStart;
    } else {
      life.first ??= e;
      if (e.time <= at) life.state = e;
    }
    lives.set(id, life);
  }
  const out = [...read];
  for (const life of lives.values()) {
    const state = life.state ?? life.first;
    if (!state || (life.start ?? at) > at || (life.end !== undefined && life.end <= at)) continue;
    if (!read.some((r) => r.ctId === state.entry.ctId && r.state === state.entry.state))
      out.push(state.entry);
  }
  return out;
}

/** Is a log line's packet one a trace event saw (as it entered the node, or at the event's hook)? */
function ofTraced(e: PacketLogEvent, t: TraceEvent): boolean {
  const f = e.fields;
  return [t.packet, t.seen].some(
    (p) => !!p && p.src === f.src && p.dst === f.dst && p.sport === f.spt && p.dport === f.dpt,
  );
}
