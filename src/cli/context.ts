import { resolveLabName } from "../lab/find-lab.ts";
import { StartedLab } from "../lab/started-lab.ts";
import { DockerRuntime } from "../runtime/docker-runtime.ts";

/** The running lab a command acts on (--name, FWLAB_NAME, the only lab, or "fwlab"). */
export async function currentLab(name?: string): Promise<StartedLab> {
  const runtime = await DockerRuntime.connect();
  return StartedLab.attach(runtime, await resolveLabName(runtime, name));
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
