import type { Command } from "commander";
import { LabTokens } from "../../server/lab-tokens.ts";

/** `fwlab token create|list|revoke`: one dashboard token per lab, for a class. */
export function tokenCommand(program: Command): void {
  const token = program
    .command("token")
    .description(
      "dashboard tokens that open one lab each (a student's), beside the one `fwlab serve` prints",
    );
  token
    .command("create")
    .description("a new token that opens only LAB's page, API, streams and terminals")
    .argument("<lab>")
    .action((lab: string) => {
      const tokens = new LabTokens();
      const t = tokens.create(lab);
      process.stdout.write(`${t}\n`);
      process.stderr.write(
        `a token for lab ${lab} (kept as a digest in ${tokens.file}; shown only now):\n` +
          `  open the dashboard's address with #token=${t} at its end; a running \`fwlab serve\` accepts it at once\n` +
          `  \`fwlab token revoke ${lab}\` ends it\n`,
      );
    });
  token
    .command("list")
    .description("the labs that have tokens, and when each was created")
    .action(() => {
      for (const t of new LabTokens().list())
        process.stdout.write(`${t.lab}\t${new Date(t.created).toISOString()}\n`);
    });
  token
    .command("revoke")
    .description("ends every token of LAB")
    .argument("<lab>")
    .action((lab: string) => {
      const n = new LabTokens().revoke(lab);
      process.stderr.write(n > 0 ? `revoked ${n} token(s) of lab ${lab}\n` : `lab ${lab} had no token\n`);
    });
}
