#!/usr/bin/env node
import { resolve } from "node:path";
import { Command } from "commander";
import { FwlabError } from "../errors.ts";
import { fileProblem } from "../topology/input-file.ts";
import { displayPath } from "../util/display-path.ts";
import { demoCommand } from "./commands/demo.ts";
import { doctorCommand } from "./commands/doctor.ts";
import { evidenceCommands } from "./commands/evidence.ts";
import { imagesCommand } from "./commands/images.ts";
import { lifecycleCommands } from "./commands/lifecycle.ts";
import { nodeCommands } from "./commands/node.ts";
import { runCommand } from "./commands/run.ts";
import { serveCommand } from "./commands/serve.ts";

const program = new Command("fwlab")
  .description("a firewall testbed: real containers, a real ruleset, real packets")
  .showHelpAfterError()
  .exitOverride((err) => {
    // Usage errors are invalid input: exit 2, like every other input error.
    process.exit(err.exitCode === 0 ? 0 : 2);
  });

for (const register of [
  lifecycleCommands,
  nodeCommands,
  runCommand,
  serveCommand,
  evidenceCommands,
  imagesCommand,
  doctorCommand,
  demoCommand,
])
  register(program);

try {
  await program.parseAsync(process.argv);
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
