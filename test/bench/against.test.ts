import { describe, expect, it } from 'vitest';
import { headOverOther, type BuildSample } from '../../bench/against.js';

const sample = (
  build: BuildSample['build'],
  scenario: string,
  round: number,
  cpuUsPerReq: number | null,
  failures = 0,
): BuildSample => ({
  build,
  scenario,
  round,
  cpuUsPerReq,
  failures,
  target: `${build}:${scenario}`,
  connections: 50,
  requests: 100,
  seconds: 4,
  reqPerSec: 25,
  latencyP50Ms: 1,
  latencyP99Ms: 2,
});

describe('bench --against: head over other', () => {
  it('pairs the two builds by round, whatever order they were measured in', () => {
    const rows = headOverOther([
      sample('other', 'dashboard-warm', 2, 2000),
      sample('head', 'dashboard-warm', 1, 1100),
      sample('other', 'dashboard-warm', 1, 1000),
      sample('head', 'dashboard-warm', 2, 1800),
      sample('head', 'dashboard-warm', 3, 3000),
      sample('other', 'dashboard-warm', 3, 2500),
    ]);
    expect(rows).toEqual([
      {
        scenario: 'dashboard-warm',
        headCpuUs: [1100, 1800, 3000],
        otherCpuUs: [1000, 2000, 2500],
        ratios: [1.1, 0.9, 1.2],
        median: 1.1,
        failures: 0,
      },
    ]);
  });

  it('keeps scenarios apart and counts failed requests of both builds', () => {
    const rows = headOverOther([
      sample('head', 'payments', 1, 15000, 2),
      sample('other', 'payments', 1, 12000, 1),
      sample('head', 'entities-100', 1, 4000),
      sample('other', 'entities-100', 1, 5000),
    ]);
    expect(rows.map((row) => [row.scenario, row.median, row.failures])).toEqual([
      ['payments', 1.25, 3],
      ['entities-100', 0.8, 0],
    ]);
  });
});
