// Bundles the CLI into dist/fwlab.mjs and a chunk per command (dist/chunks/): a command loads
// only what it needs (`status` no web server, no YAML or schema library), and a start costs a
// little over Node's own, where transpiling the sources through tsx costs ~0.45 s. bin/fwlab uses
// the bundle only while it is newer than every file under src/, so an edit never runs stale code.
import { copyFileSync, readFileSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

/**
 * dockerode loads BuildKit's gRPC session code (1 MB with protobufjs) at start, bundles its
 * BuildKit progress decoder (protobufjs again), and docker-modem the ssh2 client: fwlab never
 * builds with BuildKit (it reads build progress itself), and needs ssh2 only for an ssh://
 * engine. The BuildKit parts become stubs that say so; the SSH transport loads when first used.
 */
const leanDockerode = {
  name: "lean-dockerode",
  setup(b) {
    b.onResolve({ filter: /^\.\/(session|buildkit)$/ }, (a) =>
      a.importer.includes("dockerode") ? { path: a.path, namespace: "fwlab-stub" } : undefined,
    );
    b.onResolve({ filter: /^\.\/ssh$/ }, (a) =>
      a.importer.includes("docker-modem") ? { path: "ssh", namespace: "fwlab-lazy" } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: "fwlab-stub" }, () => ({
      contents: "module.exports = function () { throw new Error('BuildKit sessions are not part of fwlab'); };",
      loader: "js",
    }));
    b.onLoad({ filter: /.*/, namespace: "fwlab-lazy" }, () => ({
      contents: 'module.exports = function () { return require("docker-modem/lib/ssh.js").apply(this, arguments); };',
      loader: "js",
      resolveDir: process.cwd(),
    }));
  },
};

/** cli-table3's cell widths: scripts/ascii-string-width.cjs says why. */
const asciiWidth = {
  name: "ascii-string-width",
  setup(b) {
    b.onResolve({ filter: /^string-width$/ }, (a) =>
      a.importer.includes("cli-table3") ? { path: fileURLToPath(new URL("./ascii-string-width.cjs", import.meta.url)) } : undefined,
    );
  },
};

/**
 * zod's namespace carries every locale of its messages (360 KB, ~half of zod's chunk, evaluated
 * by every command that reads a lab or scenario file); fwlab speaks English and sets no other.
 * The others become stubs that say so.
 */
const englishZod = {
  name: "english-zod",
  setup(b) {
    b.onResolve({ filter: /^\.\/[a-z]{2}(-[A-Za-z]+)?\.js$/ }, (a) =>
      /zod[\\/]v4[\\/]locales[\\/]index\.js$/.test(a.importer) && a.path !== "./en.js"
        ? { path: a.path, namespace: "fwlab-zod-locale" }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: "fwlab-zod-locale" }, (a) => ({
      contents: `export default function () { throw new Error("zod's locale ${a.path} is not part of fwlab"); }`,
      loader: "js",
    }));
  },
};

rmSync("dist", { recursive: true, force: true });
await build({
  // The dashboard runs scenarios in a process of its own (src/server/run-worker.ts).
  entryPoints: { fwlab: "src/cli/main.ts", "run-worker": "src/server/run-worker.ts" },
  bundle: true,
  splitting: true,
  platform: "node",
  format: "esm",
  target: "node20",
  outdir: "dist",
  outExtension: { ".js": ".mjs" },
  chunkNames: "chunks/[name]-[hash]",
  plugins: [leanDockerode, asciiWidth, englishZod],
  define: {
    FWLAB_VERSION: JSON.stringify(JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")).version),
  },
  // Optional native parts of docker-modem's SSH transport, and esbuild (the dashboard bundles its
  // page with it when run from the sources): resolved from node_modules when used.
  external: ["ssh2", "cpu-features", "esbuild"],
  banner: { js: "import { createRequire as __fwlabRequire } from 'node:module'; const require = __fwlabRequire(import.meta.url);" },
  logLevel: "warning",
});

// The dashboard's page for the bundled CLI (dist/web): an install has no node_modules to bundle
// it from. web/page-build.json holds the options src/server/page-bundle.ts uses from the sources.
await build({
  ...JSON.parse(readFileSync("web/page-build.json", "utf8")),
  entryPoints: { app: "web/src/main.ts" },
  outdir: "dist/web",
  logLevel: "warning",
});
copyFileSync("node_modules/@xterm/xterm/css/xterm.css", "dist/web/xterm.css");
copyFileSync("node_modules/uplot/dist/uPlot.min.css", "dist/web/uPlot.min.css");
