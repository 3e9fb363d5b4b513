// Fails when a module of src/ (or web/src/) imports itself through others: arrows must point
// down the layers (README, Architecture). Reads `import ... from "./x.ts"` and `export ... from`,
// type-only imports included (a cycle of types still ties two layers together).
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const roots = process.argv.slice(2).length ? process.argv.slice(2) : ["src"];
const files = roots.flatMap(function walk(dir) {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : /\.tsx?$/.test(n) ? [resolve(p)] : [];
  });
});
const edges = new Map(
  files.map((f) => [
    f,
    [...readFileSync(f, "utf8").matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+"(\.[^"]+)"/gms)]
      .map((m) => resolve(dirname(f), m[1]))
      .filter((t) => files.includes(t)),
  ]),
);
const cycles = [];
const state = new Map(); // 1 visiting, 2 done
const stack = [];
function visit(f) {
  state.set(f, 1);
  stack.push(f);
  for (const t of edges.get(f) ?? []) {
    if (state.get(t) === 1) cycles.push([...stack.slice(stack.indexOf(t)), t]);
    else if (!state.has(t)) visit(t);
  }
  stack.pop();
  state.set(f, 2);
}
for (const f of files) if (!state.has(f)) visit(f);
const rel = (f) => relative(process.cwd(), f);
if (cycles.length) {
  console.error(`import cycles (${cycles.length}):`);
  for (const c of cycles) console.error(`  ${c.map(rel).join(" -> ")}`);
  process.exit(1);
}
console.log(`no import cycles in ${files.length} modules`);
