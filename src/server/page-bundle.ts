import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { BuildOptions } from "esbuild";
import { FwlabError } from "../errors.ts";
import { projectRoot } from "../util/project-root.ts";

/** What the page needs besides index.html and style.css, by the path it asks for. */
export type PageAssets = Readonly<Record<"/app.js" | "/vendor/xterm.css" | "/vendor/uPlot.min.css", string>>;

let assets: Promise<PageAssets> | undefined;

/**
 * The page's code (web/src, TypeScript typed against src/server/protocol.ts) with its libraries
 * (cytoscape, uPlot, xterm.js) and their style sheets. Bundled fwlab (dist/, what an install
 * runs, with no node_modules beside it) has them in dist/web, built with the CLI
 * (scripts/build-cli.mjs); from the sources, esbuild bundles them when the dashboard starts.
 * Either way no generated file goes stale beside the sources (bin/fwlab runs the bundle only
 * while it is newer than every source, web/src included).
 */
export function pageAssets(): Promise<PageAssets> {
  assets ??= (fileURLToPath(import.meta.url).endsWith(".ts") ? fromSources() : fromBundle()).catch(
    (err: Error) => {
      assets = undefined;
      throw new FwlabError(`the dashboard page could not be built: ${err.message.split("\n")[0]}`);
    },
  );
  return assets;
}

async function fromBundle(): Promise<PageAssets> {
  const dir = join(projectRoot(), "dist", "web");
  const [app, xterm, uplot] = await Promise.all(
    ["app.js", "xterm.css", "uPlot.min.css"].map((f) => readFile(join(dir, f), "utf8")),
  );
  return { "/app.js": app!, "/vendor/xterm.css": xterm!, "/vendor/uPlot.min.css": uplot! };
}

async function fromSources(): Promise<PageAssets> {
  const root = projectRoot();
  const { build } = await import("esbuild");
  // The page's esbuild options, shared with scripts/build-cli.mjs (which builds dist/web).
  const options = JSON.parse(await readFile(join(root, "web/page-build.json"), "utf8")) as BuildOptions;
  const [bundle, xterm, uplot] = await Promise.all([
    build({ ...options, entryPoints: [join(root, "web/src/main.ts")], write: false, logLevel: "silent" }),
    readFile(join(root, STYLE_SHEETS["xterm.css"]), "utf8"),
    readFile(join(root, STYLE_SHEETS["uPlot.min.css"]), "utf8"),
  ]);
  return {
    "/app.js": bundle.outputFiles[0]!.text,
    "/vendor/xterm.css": xterm,
    "/vendor/uPlot.min.css": uplot,
  };
}

/** The libraries' style sheets, from node_modules. */
export const STYLE_SHEETS = {
  "xterm.css": "node_modules/@xterm/xterm/css/xterm.css",
  "uPlot.min.css": "node_modules/uplot/dist/uPlot.min.css",
} as const;
