/**
 * Errors fwlab reports to users. Each message names the node or file, what was done and
 * what to do next; `exitCode` is what the CLI exits with.
 */
export class FwlabError extends Error {
  override name = "FwlabError";
  constructor(
    message: string,
    readonly exitCode = 1,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * A lab's start that ran out of time on busy hosts (a node not ready, the swarm not attaching it
 * in time): the same start may well succeed once other starts are done.
 */
export class HostsBusy extends FwlabError {
  override name = "HostsBusy";
}

/** Invalid input (lab file, ruleset, arguments): nothing was started. Exit code 2. */
export class InputError extends FwlabError {
  override name = "InputError";
  constructor(message: string, options?: ErrorOptions) {
    super(message, 2, options);
  }
}
