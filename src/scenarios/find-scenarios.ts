import { readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { InputError } from "../errors.ts";

const SCENARIO = /\.scenario\.ya?ml$/;

/**
 * Scenario files, or every `*.scenario.yml` under a folder (sorted, so runs are repeatable), for
 * each path in the order given (a shell's glob gives several); a file named twice runs once.
 */
export function findScenarios(paths: string | readonly string[]): string[] {
  return [...new Set((typeof paths === "string" ? [paths] : paths).flatMap(scenariosAt))];
}

function scenariosAt(path: string): string[] {
  const full = resolve(path);
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(full);
  } catch {
    throw new InputError(`${path}: no such file or folder`);
  }
  if (st.isFile()) return [full];
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (SCENARIO.test(e.name)) out.push(p);
    }
  };
  walk(full);
  if (out.length === 0) throw new InputError(`${path}: no *.scenario.yml files in this folder`);
  return out;
}
