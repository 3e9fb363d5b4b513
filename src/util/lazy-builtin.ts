import { createRequire } from "node:module";

const load = createRequire(import.meta.url);

/**
 * A built-in module, loaded on its first use instead of at start. Node compiles each built-in
 * the first time it is loaded: `node:https` (with `tls` and `crypto`) is a tenth of a short
 * command's time, and `fwlab status` on a local engine needs none of it.
 */
export function lazyBuiltin<T>(name: `node:${string}`): () => T {
  let m: T | undefined;
  return () => {
    m ??= load(name) as T;
    return m;
  };
}
