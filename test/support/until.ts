/** Polls `f` every `everyMs` until it holds or `ms` pass; the last answer is what it returns. */
export async function until(
  f: () => boolean | Promise<boolean>,
  ms = 10_000,
  everyMs = 50,
): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await f()) return true;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return f();
}
