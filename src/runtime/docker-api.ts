import type Docker from "dockerode";

/**
 * dockerode, loaded on its first use: a command that only reads (engine-http.ts answers those)
 * never loads it and its stream libraries, a fifth of a short command's time. Everything in
 * the Docker seam that needs more than a GET asks for it through this.
 */
export type DockerApi = () => Promise<Docker>;

/** The dockerode client for an endpoint's options (engine-endpoint.ts dockerOptions), made once. */
export function lazyDocker(options: Record<string, unknown>): DockerApi {
  let docker: Promise<Docker> | undefined;
  return () => {
    docker ??= import("dockerode").then((m) => new m.default(options as Docker.DockerOptions));
    return docker;
  };
}
