import type { Readable } from "node:stream";
import { FwlabError } from "../errors.ts";
import type { ImageBuild, ImageStore } from "./container-runtime.ts";
import type { DockerApi } from "./docker-api.ts";
import { isNotFound } from "./engine-errors.ts";
import type { EngineHttp } from "./engine-http.ts";

/** Images, for the builder and the checks before a lab starts: part of the Docker seam. */
export class DockerImages implements ImageStore {
  constructor(
    private readonly api: DockerApi,
    /** Plain GETs, where the engine is not reached over ssh (engine-http.ts). */
    private readonly http?: EngineHttp,
  ) {}

  /** The labels of an image, or undefined when there is no such image. */
  async imageLabels(ref: string): Promise<Record<string, string> | undefined> {
    try {
      const img = await (await this.api()).getImage(ref).inspect();
      return img.Config?.Labels ?? {};
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async imageId(ref: string): Promise<string | undefined> {
    try {
      if (this.http)
        return (await this.http.json<{ Id: string }>(`/images/${encodeURIComponent(ref)}/json`)).Id;
      return (await (await this.api()).getImage(ref).inspect()).Id;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** `docker import` of a root filesystem tar stream, with labels. */
  async importImage(tar: Readable, ref: string, labels: Record<string, string>): Promise<void> {
    const [repo, tag = "latest"] = ref.split(":");
    const changes = Object.entries(labels).map(([k, v]) => `LABEL ${k}=${JSON.stringify(v)}`);
    const stream = await (await this.api()).importImage(
      tar as unknown as string,
      { repo, tag, changes } as object,
    );
    await this.followProgress(stream as unknown as Readable, () => {});
  }

  /** `docker build` of a context tar stream; `onLine` gets the builder's output. */
  async buildImage(context: Readable, opts: ImageBuild, onLine: (line: string) => void): Promise<void> {
    const stream = await (await this.api()).buildImage(context as unknown as string, {
      t: opts.ref,
      dockerfile: opts.dockerfile,
      buildargs: opts.buildArgs,
      labels: opts.labels,
      rm: true,
      forcerm: true,
    });
    await this.followProgress(stream as unknown as Readable, onLine);
  }

  async saveImages(refs: readonly string[]): Promise<Readable> {
    return (await ((await this.api()) as unknown as { getImages(o: object): Promise<unknown> }).getImages({
      names: [...refs],
    })) as unknown as Readable;
  }

  async loadImages(tar: Readable): Promise<void> {
    const stream = await (await this.api()).loadImage(tar as unknown as string);
    await this.followProgress(stream as unknown as Readable, () => {});
  }

  private async followProgress(stream: Readable, onLine: (line: string) => void): Promise<void> {
    const docker = await this.api();
    return new Promise((resolve, reject) => {
      docker.modem.followProgress(
        stream,
        (err: Error | null, output: Array<{ error?: string }>) => {
          const failed = err?.message ?? output.find((o) => o.error)?.error;
          if (failed) reject(new FwlabError(failed));
          else resolve();
        },
        (event: { stream?: string; status?: string; error?: string }) => {
          const text = event.stream ?? event.status ?? event.error;
          if (text) for (const l of text.split("\n")) if (l.trim()) onLine(l);
        },
      );
    });
  }
}
