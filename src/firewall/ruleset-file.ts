import { InputError } from "../errors.ts";
import { readInputFile } from "../topology/input-file.ts";
import { detectRulesetFormat } from "./ruleset-format.ts";
import { ScriptError, scriptToRestore } from "./script-to-restore.ts";

const MAX_BYTES = 4 * 1024 * 1024;

/** A ruleset file's text; errors start with `label` ("[fw] ruleset rules.sh"). */
export function readRulesetFile(path: string, label: string): string {
  return readInputFile(path, {
    what: "a ruleset",
    maxBytes: MAX_BYTES,
    whenEmpty: "to clear the ruleset, load one that says so",
    label,
  });
}

/**
 * Checks what can be checked on the host before any node sees a ruleset: that it is a
 * readable text file and, for a script of iptables commands, that it plays (unknown chains,
 * unset variables, shell operators, with their line). Lab and scenario files check the
 * rulesets they name with it, so such an error stops a run before anything starts.
 */
export function checkRulesetFile(path: string, label: string): void {
  const text = readRulesetFile(path, label);
  if (detectRulesetFormat(path, text) !== "iptables-script") return;
  try {
    scriptToRestore(text);
  } catch (err) {
    if (!(err instanceof ScriptError)) throw err;
    throw new InputError(`${label} line ${err.line}: ${err.message}`);
  }
}
