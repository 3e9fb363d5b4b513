/** A line of a rules script the player refuses, or a command in it that failed; `line` is 1-based. */
export class ScriptError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * A command the player took and that failed as the tool would (`iptables -N X` when X exists):
 * a later `||` of its list catches it, as a shell would. Other ScriptErrors are refusals.
 */
export class CommandFailed extends ScriptError {}
