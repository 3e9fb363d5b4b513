import { existsSync, realpathSync } from "node:fs";
import { basename, dirname, join, resolve, sep } from "node:path";
import { displayPath } from "../util/display-path.ts";
import { projectRoot } from "../util/project-root.ts";

/**
 * A path a lab or scenario file names (a ruleset, a lab, a load step's file), resolved against
 * that file, and why it may not be used (undefined when it may).
 *
 * The rule: it must stay inside the file's project, the nearest folder above the file holding
 * .git or package.json (else the file's own folder), or inside fwlab's own folder, after
 * following symbolic links. A scenario someone else wrote cannot make fwlab read
 * ../../../etc/shadow and quote a line of it in an error. Paths typed on the command line are
 * the user's own choice and are not limited.
 */
export function resolveInProject(file: string, ref: string): { path: string; problem?: string } {
  const path = resolve(dirname(file), ref);
  const real = realPath(path);
  const project = projectOf(file);
  const roots = [project, realPath(projectRoot())];
  if (roots.some((r) => real === r || real.startsWith(r + sep))) return { path };
  const why = isProject(project)
    ? "the folder holding its .git or package.json"
    : "its own folder: no .git or package.json above it";
  return {
    path,
    problem:
      `${ref}${real === ref ? "" : ` (${real})`} is outside the project ${displayPath(project)} (${why}); ` +
      "a lab or scenario file may only name files inside its project: copy the file into it",
  };
}

function projectOf(file: string): string {
  const own = realPath(dirname(resolve(file)));
  for (let dir = own; ; dir = dirname(dir)) {
    if (isProject(dir)) return dir;
    if (dirname(dir) === dir) return own;
  }
}

const isProject = (dir: string) => existsSync(join(dir, ".git")) || existsSync(join(dir, "package.json"));

/** The path with every symbolic link followed, as far as it exists. */
function realPath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    const up = dirname(path);
    return up === path ? path : join(realPath(up), basename(path));
  }
}
