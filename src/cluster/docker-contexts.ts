import { createHash } from "node:crypto";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { dockerConfigDir } from "../runtime/engine-endpoint.ts";

/**
 * Docker contexts as the docker CLI stores them (meta.json, and TLS material beside it under a
 * hash of the name): `fwlab cluster sim` names its engines this way, so `docker --context
 * fwsim-2 ps` and `fwlab -c fwsim-2 status` both reach them.
 */
export function writeContext(
  name: string,
  host: string,
  opts: { description: string; tlsDir?: string },
  env: NodeJS.ProcessEnv = process.env,
): void {
  const id = createHash("sha256").update(name).digest("hex");
  const dir = dockerConfigDir(env);
  const meta = join(dir, "contexts", "meta", id);
  mkdirSync(meta, { recursive: true });
  writeFileSync(
    join(meta, "meta.json"),
    JSON.stringify({
      Name: name,
      Metadata: { Description: opts.description },
      Endpoints: { docker: { Host: host, SkipTLSVerify: false } },
    }),
  );
  if (opts.tlsDir) {
    const tls = join(dir, "contexts", "tls", id, "docker");
    mkdirSync(tls, { recursive: true, mode: 0o700 });
    for (const f of ["ca.pem", "cert.pem", "key.pem"]) copyFileSync(join(opts.tlsDir, f), join(tls, f));
  }
}

/** Contexts whose names start with `prefix`. */
export function listContexts(prefix: string, env: NodeJS.ProcessEnv = process.env): string[] {
  const metaDir = join(dockerConfigDir(env), "contexts", "meta");
  if (!existsSync(metaDir)) return [];
  return readdirSync(metaDir)
    .map((id) => {
      try {
        return (JSON.parse(readFileSync(join(metaDir, id, "meta.json"), "utf8")) as { Name?: string }).Name;
      } catch {
        return undefined; // not a context fwlab can read: not one of its own either
      }
    })
    .filter((n): n is string => !!n && n.startsWith(prefix))
    .sort();
}

export function removeContext(name: string, env: NodeJS.ProcessEnv = process.env): void {
  const id = createHash("sha256").update(name).digest("hex");
  const dir = dockerConfigDir(env);
  rmSync(join(dir, "contexts", "meta", id), { recursive: true, force: true });
  rmSync(join(dir, "contexts", "tls", id), { recursive: true, force: true });
}
