import { FwlabError, HostsBusy } from "../errors.ts";
import type { ContainerRuntime } from "../runtime/container-runtime.ts";
import type { LabSpec } from "../topology/lab-spec.ts";
import { type Progress, seconds } from "../util/progress.ts";

/** Follows a node's output until its init reports "fwlab-ready" or why it is not. */
export async function waitReady(
  runtime: ContainerRuntime,
  lab: string,
  n: LabSpec["nodes"][number],
  id: string,
  t0: number,
  readyTimeoutMs: number,
  progress: Progress,
  signal?: AbortSignal,
  where = "",
): Promise<void> {
  const r = await runtime.waitForLine(
    id,
    (l) => (l === "fwlab-ready" ? "ready" : l.startsWith("fwlab-failed:") ? l : undefined),
    readyTimeoutMs + 2000,
    signal,
  );
  if (r.value === "ready") return progress(`  ${n.name} ready (${n.role})${where} in ${seconds(t0)}`);
  if (r.reason === "aborted") throw new FwlabError(`lab ${lab}: start aborted`, 130);
  const why =
    r.value ??
    (r.reason === "timeout" ? `not ready after ${readyTimeoutMs / 1000}s` : "its container exited");
  // Out of time is what busy hosts do; a service that failed says so (fwlab-failed) and is not.
  throw new (r.reason === "timeout" && !r.value ? HostsBusy : FwlabError)(
    `[${n.name}]${where} ${why.replace(/^fwlab-failed: /, "")}\n  last output:\n${r.lines
      .slice(-8)
      .map((l) => `    ${l}`)
      .join("\n")}`,
  );
}
