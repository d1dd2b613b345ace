import { Session } from 'node:inspector';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allocations, selfTimeByArea, type CpuProfile, type HeapProfile } from '../../bench/profile.js';

/** Allocates ~16 MB of short-lived arrays, so a sampling heap profile cannot miss it. */
function allocateShortLivedArrays(): number {
  let total = 0;
  for (let i = 0; i < 2_000; i++) total += new Array<number>(1_000).fill(i).length;
  return total;
}

/** Spins for `ms` of CPU, so a CPU profile cannot miss it. */
function spinFor(ms: number): number {
  const until = performance.now() + ms;
  let spins = 0;
  while (performance.now() < until) spins += Math.sqrt(spins);
  return spins;
}

describe('bench profiles, taken in this process', () => {
  const session = new Session();
  const post = <T>(method: string, params: object = {}): Promise<T> =>
    new Promise((resolve, reject) =>
      session.post(method, params, (error, result) => (error ? reject(error) : resolve(result as T))),
    );
  beforeAll(() => session.connect());
  afterAll(() => session.disconnect());

  it('attribute what a function allocated, collected objects included, to its site', async () => {
    await post('HeapProfiler.enable');
    await post('HeapProfiler.startSampling', {
      samplingInterval: 1024,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
    expect(allocateShortLivedArrays()).toBe(2_000_000);
    const { profile } = await post<{ profile: HeapProfile }>('HeapProfiler.stopSampling');

    const { areas, sites } = allocations(profile);
    const [site, share] = sites[0]!;
    expect(site).toMatch(/^allocateShortLivedArrays .*test\/bench\/profile\.test\.ts:\d+$/);
    expect(share).toBeGreaterThan(50);
    expect(areas.reduce((sum, [, percent]) => sum + percent, 0)).toBeCloseTo(100, 0);
  });

  it("count a function's CPU time in its area", async () => {
    await post('Profiler.enable');
    await post('Profiler.start');
    spinFor(200);
    const { profile } = await post<{ profile: CpuProfile }>('Profiler.stop');

    const areas = selfTimeByArea(profile);
    expect(areas[0]).toEqual(['other', expect.any(Number)]);
    expect(areas[0]![1]).toBeGreaterThan(50);
  });
});
