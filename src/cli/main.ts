#!/usr/bin/env node
import { Command } from "commander";
import { FwlabError } from "../errors.ts";
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
  throw err;
}
