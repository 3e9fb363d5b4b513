import type { Readable } from "node:stream";

/**
 * Calls `onLine` for every complete line of a text stream. One split per chunk: a chunk of a
 * conntrack burst holds hundreds of lines, and slicing the rest off line by line made the
 * reader quadratic in the chunk size.
 */
export function eachLine(stream: Readable, onLine: (line: string) => void): void {
  let pending = "";
  stream.on("data", (chunk: Buffer) => {
    const parts = (pending + chunk.toString("utf8")).split("\n");
    pending = parts.pop() ?? "";
    for (const line of parts) onLine(line);
  });
}
