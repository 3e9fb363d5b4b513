import { spawn } from "node:child_process";
import { createReadStream, existsSync } from "node:fs";
import { mkdir, readdir, rename, rm } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { pack } from "tar-fs";
import { FwlabError } from "../errors.ts";
import type { ContainerRuntime } from "../runtime/container-runtime.ts";
import type { Engine } from "../runtime/engine.ts";
import { HELPER_IMAGE } from "../runtime/helper-container.ts";
import { LABEL } from "../runtime/labels.ts";
import { BASE_IMAGE, ROLE_NAMES, type Role, roleImage } from "../topology/roles.ts";
import { type Progress, seconds } from "../util/progress.ts";
import { projectRoot } from "../util/project-root.ts";
import { hashInputs } from "./hash-inputs.ts";

export const IMAGES_DIR = join(projectRoot(), "images");

/** Every image built from images/roles/<dir>: the lab roles, and the host helper (not a lab role). */
const BUILT: readonly { readonly dir: Role | "hostd"; readonly ref: string }[] = [
  ...ROLE_NAMES.map((r) => ({ dir: r, ref: roleImage(r) })),
  { dir: "hostd", ref: HELPER_IMAGE },
];

/** The refs of every image fwlab builds. */
export const BUILT_IMAGES: readonly string[] = BUILT.map((b) => b.ref);

export interface ImageState {
  readonly ref: string;
  readonly inputs: string;
  readonly upToDate: boolean;
}

/** Which images are missing or stale on an engine, without building anything. */
export async function imageStates(runtime: ContainerRuntime): Promise<ImageState[]> {
  const baseInputs = await hashInputs(IMAGES_DIR, ["base"]);
  const states: ImageState[] = [await state(runtime, BASE_IMAGE, baseInputs)];
  for (const b of BUILT) states.push(await state(runtime, b.ref, await roleInputs(b.dir, baseInputs)));
  return states;
}

/**
 * Builds the images on an engine, through its API only (it may be on another host, with no
 * registry): the base from a root filesystem tar (`docker import`), the roles on top of it
 * (`docker build` of thin COPY layers). Images whose inputs did not change are skipped; a
 * changed base rebuilds every role. The root filesystem is made once per set of inputs and kept
 * (rootfsCache), so a second engine gets it in seconds.
 */
export async function buildImages(
  engine: Engine,
  progress: Progress,
  opts: { force?: boolean; mirror?: string } = {},
): Promise<void> {
  const { runtime } = engine;
  const baseInputs = await hashInputs(IMAGES_DIR, ["base"]);
  const base = await state(runtime, BASE_IMAGE, baseInputs);
  if (opts.force || !base.upToDate) await buildBase(engine, baseInputs, progress, opts);
  else progress(`Image ${BASE_IMAGE} is up to date on engine ${engine.name}`);

  const baseId = await runtime.images.imageId(BASE_IMAGE);
  if (!baseId)
    throw new FwlabError(`image ${BASE_IMAGE} is missing on engine ${engine.name} after its build`);
  // Role layers are small COPYs; building them side by side is faster than one by one.
  await Promise.all(
    BUILT.map(async (b) => {
      const s = await state(runtime, b.ref, await roleInputs(b.dir, baseInputs));
      if (!opts.force && s.upToDate) return progress(`Image ${s.ref} is up to date`);
      await buildRole(runtime, b.dir, b.ref, baseId, s.inputs, progress);
    }),
  );
}

async function state(runtime: ContainerRuntime, ref: string, inputs: string): Promise<ImageState> {
  const labels = await runtime.images.imageLabels(ref);
  return { ref, inputs, upToDate: labels?.[LABEL.inputs] === inputs };
}

function roleInputs(dir: string, baseInputs: string): Promise<string> {
  return hashInputs(IMAGES_DIR, ["Dockerfile.role", "common", `roles/${dir}`], [baseInputs]);
}

/** Where root filesystems are kept: $FWLAB_CACHE_DIR, else $XDG_CACHE_HOME/fwlab, else ~/.cache/fwlab. */
export function rootfsCache(env: NodeJS.ProcessEnv = process.env): string {
  return env.FWLAB_CACHE_DIR ?? join(env.XDG_CACHE_HOME ?? join(env.HOME ?? homedir(), ".cache"), "fwlab");
}

async function buildBase(
  engine: Engine,
  inputs: string,
  progress: Progress,
  opts: { force?: boolean; mirror?: string },
): Promise<void> {
  const started = performance.now();
  const dir = rootfsCache();
  const tar = join(dir, `base-${inputs}.tar`);
  if (opts.force || !existsSync(tar)) {
    progress(`Building the root filesystem of ${BASE_IMAGE} (Debian bookworm, about a minute) ...`);
    await mkdir(dir, { recursive: true });
    // mmdebstrap picks its output format by the name: it must end in .tar.
    const partial = join(dir, `base-${inputs}.partial.tar`);
    await rm(partial, { force: true, recursive: true });
    await run(
      "sh",
      [join(IMAGES_DIR, "base/build-rootfs.sh"), partial, ...(opts.mirror ? [opts.mirror] : [])],
      (line) => {
        // The builders are chatty; show their phases, not every package.
        if (
          /^(builder|configure|trim|tar):|^I: (Retrieving Release|Installing core|Configuring required|Installing base|Base system|success)|^[EW]: /.test(
            line,
          )
        )
          progress(`  ${line}`);
      },
    );
    await rename(partial, tar);
    // Only the newest is kept: each is ~300 MB.
    for (const f of await readdir(dir))
      if (/^base-\w+(\.partial)?\.tar$/.test(f) && join(dir, f) !== tar)
        await rm(join(dir, f), { force: true, recursive: true });
  } else {
    progress(`  root filesystem: ${tar} (made earlier for these inputs)`);
  }
  progress(`  import: docker import of the root filesystem as ${BASE_IMAGE} on engine ${engine.name}`);
  await engine.runtime.images.importImage(createReadStream(tar), BASE_IMAGE, { [LABEL.inputs]: inputs });
  progress(`Built image ${BASE_IMAGE} in ${seconds(started)}`);
}

async function buildRole(
  runtime: ContainerRuntime,
  dir: string,
  ref: string,
  baseId: string,
  inputs: string,
  progress: Progress,
) {
  const started = performance.now();
  progress(`Building image ${ref} ...`);
  const roleDir = `roles/${dir}`;
  const context = pack(IMAGES_DIR, {
    entries: ["Dockerfile.role", "common", roleDir],
    map: (header) => {
      if (header.name === roleDir || header.name.startsWith(`${roleDir}/`)) {
        header.name = `role${header.name.slice(roleDir.length)}`;
      }
      return header;
    },
  });
  const lines: string[] = [];
  try {
    await runtime.images.buildImage(
      context as unknown as Readable,
      {
        ref,
        dockerfile: "Dockerfile.role",
        buildArgs: { BASE: baseId },
        labels: { [LABEL.inputs]: inputs, [LABEL.role]: dir },
      },
      (l) => lines.push(l),
    );
  } catch (err) {
    throw new FwlabError(
      `building image ${ref} failed: ${(err as Error).message}\n${lines.slice(-10).join("\n")}`,
      1,
      {
        cause: err,
      },
    );
  }
  progress(`Built image ${ref} in ${seconds(started)}`);
}

function run(cmd: string, args: string[], onLine: (line: string) => void): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    const tail: string[] = [];
    for (const s of [child.stdout, child.stderr]) {
      createInterface({ input: s }).on("line", (l) => {
        tail.push(l);
        if (tail.length > 20) tail.shift();
        onLine(l);
      });
    }
    child.on("error", (err) => reject(new FwlabError(`${cmd} could not start: ${err.message}`)));
    child.on("close", (code) => {
      if (code === 0) resolvePromise();
      else reject(new FwlabError(`${cmd} ${args.join(" ")} exited ${code}:\n${tail.join("\n")}`));
    });
  });
}
