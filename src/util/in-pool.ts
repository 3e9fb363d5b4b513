/** Runs fn over items, at most `limit` at a time; rejects with the first error once in-flight calls end. */
export async function inPool<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let error: unknown;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length && error === undefined) {
        await fn(items[next++]!).catch((err: unknown) => {
          error ??= err;
        });
      }
    }),
  );
  if (error !== undefined) throw error;
}
