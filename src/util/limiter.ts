/**
 * At most `limit` calls of run() in flight; the others wait their turn, first come first served.
 * For work whose cost is shared beyond one caller (an engine's swarm attachments), where inPool,
 * which owns its list of items, does not fit.
 */
export function limiter(limit: number): <T>(fn: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    if (running >= limit) await new Promise<void>((r) => waiting.push(r));
    else running++;
    try {
      return await fn();
    } finally {
      // The slot passes straight to the next in line (running stays), or frees.
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  };
}
