/**
 * The lab's MAC scheme: Docker-like, 02:42 + the IPv4 address's bytes, so a MAC in a log line
 * names its node (evidence/address-book.ts reads it back). Overlays on Docker use the same one.
 */
export function macFor(address: string): string {
  return `02:42:${address
    .split(".")
    .map((o) => Number(o).toString(16).padStart(2, "0"))
    .join(":")}`;
}
