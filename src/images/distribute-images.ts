import { PassThrough, Transform } from "node:stream";
import { FwlabError } from "../errors.ts";
import type { Engine } from "../runtime/engine.ts";
import { type Progress, seconds, silent } from "../util/progress.ts";

/**
 * Puts images on every engine of a multi-host lab without a registry: each engine that lacks an
 * image, or has another build of it, gets it streamed through the engine API from the engine
 * that has the wanted build (`docker save` there, `docker load` here). Only what an engine lacks
 * is sent; one `save` stream feeds every engine that needs the same set.
 *
 * The wanted build of a ref is the source engine's (the engine the command talks to, where
 * `fwlab images` built them), else the first engine that has it.
 */
export async function distributeImages(
  source: Engine,
  engines: ReadonlyMap<string, Engine>,
  refs: readonly string[],
  progress: Progress = silent,
): Promise<{ sent: number }> {
  const all = [source, ...[...engines.values()].filter((e) => e !== source)];
  const ids = await Promise.all(
    all.map(async (e) => Promise.all(refs.map((r) => e.runtime.images.imageId(r).catch(() => undefined)))),
  );
  // Per ref: the engine holding the wanted build, and its id.
  const wanted = refs.map((ref, i) => {
    const at = all.findIndex((_, k) => ids[k]![i] !== undefined);
    if (at < 0)
      throw new FwlabError(
        `image ${ref} is on none of the lab's engines (${all.map((e) => e.name).join(", ")}); build it with \`fwlab images\``,
      );
    return { ref, from: all[at]!, id: ids[at]![i]! };
  });
  // Per target engine: the refs it lacks, grouped by the engine they come from.
  const jobs = new Map<string, { from: Engine; refs: string[]; to: Engine[] }>();
  all.forEach((e, k) => {
    const lacks = new Map<Engine, string[]>();
    wanted.forEach((w, i) => {
      if (ids[k]![i] !== w.id) lacks.set(w.from, [...(lacks.get(w.from) ?? []), w.ref]);
    });
    for (const [from, rs] of lacks) {
      const key = `${from.name}|${rs.join(",")}`;
      const job = jobs.get(key) ?? { from, refs: rs, to: [] };
      job.to.push(e);
      jobs.set(key, job);
    }
  });
  for (const job of jobs.values()) {
    const t0 = performance.now();
    progress(
      `Sending ${job.refs.join(", ")} from engine ${job.from.name} to ${job.to.map((e) => e.name).join(", ")} ...`,
    );
    const tar = await job.from.runtime.images.saveImages(job.refs);
    let bytes = 0;
    let shown = 0;
    const count = new Transform({
      transform(chunk: Buffer, _enc, done) {
        bytes += chunk.length;
        if (bytes - shown >= 64 * 1024 * 1024) {
          shown = bytes;
          progress(`  ${mb(bytes)} sent`);
        }
        done(null, chunk);
      },
    });
    // One save stream, teed to every engine that loads the same set.
    const outs = job.to.map(() => new PassThrough({ highWaterMark: 4 * 1024 * 1024 }));
    tar.pipe(count);
    count.on("data", (chunk: Buffer) => {
      const full = outs.filter((o) => !o.write(chunk));
      if (full.length === 0) return;
      count.pause();
      let n = 0;
      for (const o of full)
        o.once("drain", () => {
          if (++n === full.length) count.resume();
        });
    });
    count.on("end", () => {
      for (const o of outs) o.end();
    });
    tar.on("error", (err) => {
      for (const o of outs) o.destroy(err);
    });
    await Promise.all(
      job.to.map((e, i) =>
        e.runtime.images.loadImages(outs[i]!).catch((err: Error) => {
          // One engine refusing stops the stream for all: nothing stays open, paused.
          tar.destroy();
          for (const o of outs) o.destroy();
          throw new FwlabError(
            `loading ${job.refs.join(", ")} into engine ${e.name} failed: ${err.message}`,
            1,
            {
              cause: err,
            },
          );
        }),
      ),
    );
    progress(
      `  sent ${mb(bytes)} to ${job.to.length} engine${job.to.length > 1 ? "s" : ""} in ${seconds(t0)}`,
    );
  }
  return { sent: jobs.size };
}

const mb = (n: number) => `${(n / 1024 / 1024).toFixed(0)} MB`;
