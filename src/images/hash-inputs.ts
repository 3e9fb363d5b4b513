import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";

/** A stable hash of files and directories (paths and contents), so unchanged inputs skip a build. */
export async function hashInputs(root: string, paths: string[], extra: string[] = []): Promise<string> {
  const h = createHash("sha256");
  for (const e of extra) h.update(`extra:${e}\n`);
  for (const p of paths) {
    for (const file of await listFiles(join(root, p))) {
      h.update(`file:${relative(root, file)}\n`);
      h.update(await readFile(file));
    }
  }
  return h.digest("hex").slice(0, 16);
}

async function listFiles(path: string): Promise<string[]> {
  const entries = await readdir(path, { withFileTypes: true }).catch(() => undefined);
  if (!entries) return [path];
  const out: string[] = [];
  for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const full = join(path, e.name);
    out.push(...(e.isDirectory() ? await listFiles(full) : [full]));
  }
  return out;
}
