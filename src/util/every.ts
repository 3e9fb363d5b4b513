/**
 * Calls `fn` every `ms`, never two at once: the next call is scheduled when the last one ended
 * (a slow engine makes the timer slower, not a pile-up of calls). A call that throws is reported
 * to `onError` and the timer goes on. Returns a stop function.
 */
export function every(
  ms: number,
  fn: () => Promise<void> | void,
  onError: (err: unknown) => void,
): () => void {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const tick = async () => {
    try {
      await fn();
    } catch (err) {
      onError(err);
    }
    if (!stopped) timer = setTimeout(tick, ms);
  };
  timer = setTimeout(tick, ms);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
