import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { RefreshOutcome } from '../../../domain/providers.js';
import { startCopyRefresher, type CopyRefreshers } from '../../../services/copies/refresher.js';

const quiet = pino({ level: 'silent' });

/** A partner port that records what it was asked and answers when told to. */
function partners() {
  const asked: { before: Date; limit: number }[] = [];
  let release: (() => void) | null = null;
  const port: CopyRefreshers = {
    async refreshStale(_logger, before, limit) {
      asked.push({ before, limit });
      await new Promise<void>((resolve) => (release = resolve));
      return new Map<string, RefreshOutcome>([['plaid', { refreshed: 2, forgotten: 1, failed: 0 }]]);
    },
  };
  return { port, asked, release: () => release?.() };
}

describe('the scheduled refresh of local partner copies', () => {
  it('asks every partner for the copies older than the configured age, oldest first, a batch at a time', async () => {
    const { port, asked, release } = partners();
    const refresher = startCopyRefresher(port, quiet, {
      intervalMs: 0,
      staleAfterMs: 3_600_000,
      batchSize: 50,
      now: () => Date.UTC(2026, 0, 1, 12),
    });
    const run = refresher.run();
    release();
    expect(await run).toEqual(new Map([['plaid', { refreshed: 2, forgotten: 1, failed: 0 }]]));
    expect(asked).toEqual([{ before: new Date(Date.UTC(2026, 0, 1, 11)), limit: 50 }]);
    refresher.stop();
  });

  it('shares a run already in progress instead of starting a second one', async () => {
    const { port, asked, release } = partners();
    const refresher = startCopyRefresher(port, quiet, { intervalMs: 0, staleAfterMs: 1_000, batchSize: 10 });
    const first = refresher.run();
    const second = refresher.run();
    expect(second).toBe(first);
    release();
    await first;
    expect(asked).toHaveLength(1);
    const third = refresher.run();
    expect(third).not.toBe(first);
    release();
    await third;
    expect(asked).toHaveLength(2);
    refresher.stop();
  });

  it('runs on its interval until stopped', async () => {
    const { port, asked, release } = partners();
    const refresher = startCopyRefresher(port, quiet, { intervalMs: 10, staleAfterMs: 1_000, batchSize: 10 });
    while (asked.length === 0) await new Promise((resolve) => setImmediate(resolve));
    refresher.stop();
    release();
    expect(asked.length).toBeGreaterThanOrEqual(1);
  });
});
