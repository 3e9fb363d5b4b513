import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The fwlab checkout this code runs from (the folder holding images/), whether it runs from
 * src/ through tsx or from the dist/ bundle.
 */
export function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, "images", "Dockerfile.role"))) return dir;
    const up = dirname(dir);
    if (up === dir)
      throw new Error(
        `fwlab: cannot find the project root (images/) above ${fileURLToPath(import.meta.url)}`,
      );
    dir = up;
  }
}
