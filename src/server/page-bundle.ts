import { join } from "node:path";
import { build } from "esbuild";
import { FwlabError } from "../errors.ts";
import { projectRoot } from "../util/project-root.ts";

let bundled: Promise<string> | undefined;

/**
 * The page's code (web/src, TypeScript typed against src/server/protocol.ts) with its libraries
 * (cytoscape, xterm.js), bundled once per process when the dashboard starts: no build step and
 * no generated file to go stale beside the sources.
 */
export function pageBundle(): Promise<string> {
  bundled ??= build({
    entryPoints: [join(projectRoot(), "web/src/main.ts")],
    bundle: true,
    write: false,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    legalComments: "none",
    logLevel: "silent",
  }).then(
    (r) => r.outputFiles[0]!.text,
    (err: Error) => {
      bundled = undefined;
      throw new FwlabError(`the dashboard page could not be built: ${err.message.split("\n")[0]}`);
    },
  );
  return bundled;
}
