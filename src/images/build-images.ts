import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { pack } from "tar-fs";
import { FwlabError } from "../errors.ts";
import type { DockerRuntime } from "../runtime/docker-runtime.ts";
import { LABEL } from "../runtime/labels.ts";
import { BASE_IMAGE, ROLE_NAMES, type Role, roleImage } from "../topology/roles.ts";
import { type Progress, seconds } from "../util/progress.ts";
import { projectRoot } from "../util/project-root.ts";
import { hashInputs } from "./hash-inputs.ts";

export const IMAGES_DIR = join(projectRoot(), "images");

export interface ImageState {
  readonly ref: string;
  readonly inputs: string;
  readonly upToDate: boolean;
}

/** Which images are missing or stale, without building anything. */
export async function imageStates(runtime: DockerRuntime): Promise<ImageState[]> {
  const baseInputs = await hashInputs(IMAGES_DIR, ["base"]);
  const states: ImageState[] = [await state(runtime, BASE_IMAGE, baseInputs)];
  for (const role of ROLE_NAMES) {
    states.push(await state(runtime, roleImage(role), await roleInputs(role, baseInputs)));
  }
  return states;
}

/**
 * Builds the base image (debootstrap, then `docker import`) and the role images on top of
 * it. Images whose inputs did not change are skipped; a changed base rebuilds every role.
 */
export async function buildImages(
  runtime: DockerRuntime,
  progress: Progress,
  opts: { force?: boolean; mirror?: string } = {},
): Promise<void> {
  const baseInputs = await hashInputs(IMAGES_DIR, ["base"]);
  const base = await state(runtime, BASE_IMAGE, baseInputs);
  if (opts.force || !base.upToDate) await buildBase(runtime, baseInputs, progress, opts.mirror);
  else progress(`Image ${BASE_IMAGE} is up to date`);

  const baseId = await runtime.images.imageId(BASE_IMAGE);
  if (!baseId) throw new FwlabError(`image ${BASE_IMAGE} is missing after its build`);
  // Role layers are small COPYs; building them side by side is faster than one by one.
  await Promise.all(
    ROLE_NAMES.map(async (role) => {
      const s = await state(runtime, roleImage(role), await roleInputs(role, baseInputs));
      if (!opts.force && s.upToDate) return progress(`Image ${s.ref} is up to date`);
      await buildRole(runtime, role, baseId, s.inputs, progress);
    }),
  );
}

async function state(runtime: DockerRuntime, ref: string, inputs: string): Promise<ImageState> {
  const labels = await runtime.images.imageLabels(ref);
  return { ref, inputs, upToDate: labels?.[LABEL.inputs] === inputs };
}

function roleInputs(role: Role, baseInputs: string): Promise<string> {
  return hashInputs(IMAGES_DIR, ["Dockerfile.role", "common", `roles/${role}`], [baseInputs]);
}

async function buildBase(runtime: DockerRuntime, inputs: string, progress: Progress, mirror?: string) {
  if (process.getuid?.() !== 0) {
    throw new FwlabError(
      `building ${BASE_IMAGE} needs root (debootstrap and chroot); run the set-up as root, ` +
        "or on a machine with a registry: docker build from debian:bookworm with images/base/packages.txt",
    );
  }
  const started = performance.now();
  progress(`Building image ${BASE_IMAGE} (debootstrap of Debian bookworm, about a minute) ...`);
  const dir = await mkdtemp(join(process.env.FWLAB_BUILD_DIR ?? tmpdir(), "fwlab-rootfs-"));
  try {
    const args = [join(IMAGES_DIR, "base/build-rootfs.sh"), join(dir, "root"), ...(mirror ? [mirror] : [])];
    await run("sh", args, (line) => {
      // debootstrap is chatty; show its phases, not every package.
      if (
        /^(debootstrap|configure|trim):|^I: (Retrieving Release|Installing core|Configuring required|Installing base|Base system)|^[EW]: /.test(
          line,
        )
      )
        progress(`  ${line}`);
    });
    progress(`  import: docker import of the root filesystem as ${BASE_IMAGE}`);
    const tar = spawn("tar", ["-C", join(dir, "root"), "-c", "."], { stdio: ["ignore", "pipe", "inherit"] });
    await runtime.images.importImage(tar.stdout, BASE_IMAGE, { [LABEL.inputs]: inputs });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  progress(`Built image ${BASE_IMAGE} in ${seconds(started)}`);
}

async function buildRole(
  runtime: DockerRuntime,
  role: Role,
  baseId: string,
  inputs: string,
  progress: Progress,
) {
  const started = performance.now();
  const ref = roleImage(role);
  progress(`Building image ${ref} ...`);
  const roleDir = `roles/${role}`;
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
        labels: { [LABEL.inputs]: inputs, [LABEL.role]: role },
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
