import { inject } from "vitest";
import { attachLab, type StartedLab } from "../../src/index.ts";

/** The lab started once by global-setup.ts. Tests that change its ruleset restore an open one. */
export function sharedLab(): Promise<StartedLab> {
  return attachLab(inject("sharedLab"));
}

export const OPEN_RULES = "test/fixtures/rulesets/open.sh";

/** Packets received by a ping, from its summary line. */
export const received = (stdout: string): number => Number(/(\d+) received/.exec(stdout)?.[1] ?? -1);
