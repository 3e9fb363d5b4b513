// Bundles the CLI into dist/fwlab.mjs: one file starts in ~0.15 s, where transpiling the
// sources through tsx at every start costs ~0.45 s. bin/fwlab uses the bundle only while it is
// newer than every file under src/, so an edit never runs stale code.
import { build } from "esbuild";

await build({
  entryPoints: ["src/cli/main.ts"],
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  outfile: "dist/fwlab.mjs",
  // Optional native parts of docker-modem's SSH transport: resolved from node_modules if used.
  external: ["ssh2", "cpu-features"],
  banner: { js: "import { createRequire as __fwlabRequire } from 'node:module'; const require = __fwlabRequire(import.meta.url);" },
  logLevel: "warning",
});
