/** Progress of long steps, in pairs: "Building x ..." then "Built x in 1.2s". */
export type Progress = (line: string) => void;

export const silent: Progress = () => {};
export const toStderr: Progress = (line) => process.stderr.write(`${line}\n`);

export const seconds = (startedMs: number): string =>
  `${((performance.now() - startedMs) / 1000).toFixed(1)}s`;
