/** What a command run inside a node produced. `exec` never throws on a non-zero exit. */
export interface ExecResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly durationMs: number;
}

/**
 * Runs a command inside one node: through the engine (`docker exec`, ~43 ms), or through the
 * node's probe agent (a line each way, ~1 ms) where one runs.
 */
export type NodeExec = (argv: string[], opts?: { stdin?: string }) => Promise<ExecResult>;

/** A node's commands, through whatever is cheapest (its probe agent). */
export type NodeRunner = (node: string) => NodeExec;
