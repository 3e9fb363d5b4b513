import { relative } from "node:path";
import type { ScenarioResult } from "../../src/scenarios/step-result.ts";
import type { PackCopy } from "./renumber-pack.ts";

/** Per scenario (by its path inside the pack): the steps' name, observed verdict and outcome. */
export const verdicts = (c: PackCopy, results: readonly ScenarioResult[]) =>
  Object.fromEntries(
    results.map((s) => [
      relative(c.scenarios, s.file),
      {
        error: s.error,
        steps: s.steps.map((x) => `${x.name}: ${x.observed} ${x.passed ? "passed" : "FAILED"}`),
      },
    ]),
  );

export type Verdicts = ReturnType<typeof verdicts>;

/** Steps whose name, verdict or outcome differ from a run alone, each with why it failed. */
export function differences(c: PackCopy, alone: Verdicts, results: readonly ScenarioResult[]): string[] {
  const got = verdicts(c, results);
  const out: string[] = [];
  for (const file of new Set([...Object.keys(alone), ...Object.keys(got)])) {
    const [a, g] = [alone[file], got[file]];
    if (!a || !g) {
      out.push(`copy ${c.index} ${file}: ${a ? "not run" : "not run alone"}`);
      continue;
    }
    if (g.error !== a.error) out.push(`copy ${c.index} ${file}: error ${g.error} (alone: ${a.error})`);
    const steps = results.find((s) => relative(c.scenarios, s.file) === file)!.steps;
    for (let i = 0; i < Math.max(a.steps.length, g.steps.length); i++) {
      if (a.steps[i] === g.steps[i]) continue;
      const st = steps[i];
      out.push(
        `copy ${c.index} ${file} #${i + 1} "${g.steps[i] ?? "missing"}" (alone: "${a.steps[i] ?? "missing"}")` +
          `${st?.reason ? `: ${st.reason}` : ""} [${Math.round(st?.durationMs ?? 0)} ms, ${st?.bundle ?? "no bundle"}]`,
      );
    }
  }
  return out;
}

/** Steps that failed or scenarios that stopped, in a run that should pass. */
export const failuresOf = (results: readonly ScenarioResult[]): string[] =>
  results.flatMap((s) => [
    ...(s.error ? [`${s.file}: ${s.error}`] : []),
    ...s.steps.filter((x) => !x.passed).map((x) => `${s.file} / ${x.name}: ${x.reason}`),
  ]);
