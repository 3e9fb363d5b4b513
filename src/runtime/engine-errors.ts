/** The engine said the thing asked for does not exist (HTTP 404). */
export function isNotFound(err: unknown): boolean {
  return (err as { statusCode?: number })?.statusCode === 404;
}

/** Awaits a removal; one already gone (404) or already being removed by someone else (409) is fine. */
export async function ignoreNotFound(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (err) {
    const code = (err as { statusCode?: number })?.statusCode;
    if (code !== 404 && code !== 409) throw err;
  }
}

/** The engine refused because the name is taken (HTTP 409): someone made it first. */
export function isConflict(err: unknown): boolean {
  return (err as { statusCode?: number })?.statusCode === 409;
}
