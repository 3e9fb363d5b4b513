/** What a command run inside a node produced. `exec` never throws on a non-zero exit. */
export interface ExecResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly durationMs: number;
}
