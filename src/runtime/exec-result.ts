/** What a command run inside a node produced. `exec` never throws on a non-zero exit. */
export interface ExecResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly durationMs: number;
}

export const execOk = (r: ExecResult): boolean => r.exitCode === 0;

/** The output a human wants to read when a command failed: stderr, else stdout. */
export const execMessage = (r: ExecResult): string =>
  (r.stderr.trim() || r.stdout.trim() || "no output").trim();
