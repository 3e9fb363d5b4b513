import type { Command } from "commander";
import { buildImages, imageStates } from "../../images/build-images.ts";
import { toStderr } from "../../util/progress.ts";
import { commandEngine } from "../context.ts";

export function imagesCommand(program: Command): void {
  program
    .command("images")
    .description("build the lab images (offline: debootstrap + docker import); unchanged ones are skipped")
    .option("--force", "rebuild even when the inputs did not change")
    .option("--check", "only say which images are missing or stale (exit 1 if any)")
    .option("--mirror <url>", "Debian mirror for debootstrap")
    .action(async (opts: { force?: boolean; check?: boolean; mirror?: string }) => {
      const engine = await commandEngine();
      if (opts.check) {
        const states = await imageStates(engine.runtime);
        for (const s of states) console.log(`${s.upToDate ? "ok   " : "stale"} ${s.ref}`);
        process.exitCode = states.every((s) => s.upToDate) ? 0 : 1;
        return;
      }
      await buildImages(engine, toStderr, opts);
    });
}
