/**
 * Bounded concurrency for work over a list: partner reads fanned out per id, webhook lanes in a batch.
 */

/** Runs `work` over `items` with at most `limit` in flight; rejects with the first failure. */
export async function eachLimited<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length) await work(items[next++] as T);
  });
  await Promise.all(lanes);
}
