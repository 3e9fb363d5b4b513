import { resolveLabName } from "../lab/find-lab.ts";
import { StartedLab } from "../lab/started-lab.ts";
import { connectEngine, type Engine } from "../runtime/engine.ts";
import type { EngineChoice } from "../runtime/engine-endpoint.ts";

let choice: EngineChoice = {};

/** Set once by main.ts from `-H URL` / `--context NAME`, which every command takes. */
export function chooseEngine(c: EngineChoice): void {
  choice = c;
}

/** The engine this command talks to: `--context`, `-H`, else the environment (engine-endpoint.ts). */
export function commandEngine(): Promise<Engine> {
  return connectEngine(choice);
}

/** The running lab a command acts on (--name, FWLAB_NAME, the only lab, or "fwlab"). */
export async function currentLab(name?: string): Promise<StartedLab> {
  const engine = await commandEngine();
  return StartedLab.attach(engine, await resolveLabName(engine.runtime, name));
}

/** An AbortSignal that fires on Ctrl-C (and SIGTERM), so long steps end cleanly. */
export function interruptSignal(): AbortSignal {
  const ctl = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (ctl.signal.aborted) process.exit(130); // a second Ctrl-C: stop waiting for cleanup
    process.stderr.write(`\n${sig}: stopping, cleaning up ...\n`);
    ctl.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  return ctl.signal;
}
