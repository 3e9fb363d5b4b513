#!/usr/bin/env node
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { Command } from "commander";
import { FwlabError } from "../errors.ts";
import { closeEngines } from "../runtime/engine.ts";
import { fileProblem } from "../topology/input-file.ts";
import { displayPath } from "../util/display-path.ts";
import { chooseEngine } from "./context.ts";

type Register = (program: Command) => void;

declare const FWLAB_VERSION: string | undefined;
/** The package's version: put in by the bundle (scripts/build-cli.mjs), read from package.json under tsx. */
const VERSION =
  typeof FWLAB_VERSION === "string"
    ? FWLAB_VERSION
    : (
        JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
          version: string;
        }
      ).version;

// Each command's module loads only when that command runs (a bundle chunk each: `fwlab status`
// loads no web server, YAML parser or schema library); help and unknown names load them all.
const lifecycle = () => import("./commands/lifecycle.ts").then((m): Register => m.lifecycleCommands);
const node = () => import("./commands/node.ts").then((m): Register => m.nodeCommands);
const evidence = () => import("./commands/evidence.ts").then((m): Register => m.evidenceCommands);
const COMMANDS: Record<string, () => Promise<Register>> = {
  up: lifecycle,
  down: lifecycle,
  status: lifecycle,
  exec: node,
  load: node,
  rules: node,
  logs: evidence,
  conntrack: evidence,
  counters: evidence,
  trace: evidence,
  capture: evidence,
  run: () => import("./commands/run.ts").then((m): Register => m.runCommand),
  serve: () => import("./commands/serve.ts").then((m): Register => m.serveCommand),
  token: () => import("./commands/token.ts").then((m): Register => m.tokenCommand),
  images: () => import("./commands/images.ts").then((m): Register => m.imagesCommand),
  doctor: () => import("./commands/doctor.ts").then((m): Register => m.doctorCommand),
  demo: () => import("./commands/demo.ts").then((m): Register => m.demoCommand),
  cluster: () => import("./commands/cluster.ts").then((m): Register => m.clusterCommand),
};

const program = new Command("fwlab")
  .description("a firewall testbed: real containers, a real ruleset, real packets")
  .version(VERSION)
  // As the docker CLI: the engine to use, on any command (else $DOCKER_HOST, $DOCKER_CONTEXT,
  // the docker CLI's current context, else the local socket).
  .option(
    "-H, --docker-host <url>",
    "the engine's address: unix:///path, tcp://host:port (TLS from DOCKER_TLS_VERIFY, DOCKER_CERT_PATH) or ssh://user@host",
  )
  .option("-c, --context <name>", "a docker context (docker context ls)")
  .hook("preAction", () => {
    const o = program.opts<{ dockerHost?: string; context?: string }>();
    chooseEngine({ host: o.dockerHost, context: o.context });
  })
  .showHelpAfterError()
  .exitOverride((err) => {
    // Usage errors are invalid input: exit 2, like every other input error.
    process.exit(err.exitCode === 0 ? 0 : 2);
  });

// The command's name: the first word that is neither an option nor the value of -H or --context.
const named = process.argv
  .slice(2)
  .find(
    (a, i, all) =>
      !a.startsWith("-") && !["-H", "--docker-host", "-c", "--context"].includes(all[i - 1] ?? ""),
  );
const versionOnly = !named && process.argv.slice(2).every((a) => a === "-V" || a === "--version");
const wanted =
  named && COMMANDS[named] ? [COMMANDS[named]] : versionOnly ? [] : [...new Set(Object.values(COMMANDS))];
for (const register of await Promise.all(wanted.map((load) => load()))) register(program);

try {
  await program.parseAsync(process.argv);
  // A command's work is done: whatever it left open on an engine ends with it (runtime/engine.ts).
  await closeEngines();
} catch (err) {
  if (err instanceof FwlabError) {
    process.stderr.write(`fwlab: ${err.message}\n`);
    process.exit(err.exitCode);
  }
  // A file-system error on a path the user typed is invalid input too: one line, exit 2.
  const fsError = err as NodeJS.ErrnoException;
  if (
    fsError.syscall &&
    fsError.path &&
    process.argv.slice(2).some((a) => resolve(a) === resolve(fsError.path!))
  ) {
    process.stderr.write(
      `fwlab: ${displayPath(resolve(fsError.path))}: ${fileProblem(fsError.path) ?? fsError.message}\n`,
    );
    process.exit(2);
  }
  throw err;
}
