import { describe, expect, it } from 'vitest';
import { MAX_TOKEN_TTL_SECONDS, parseTtl } from '../../cli/token.js';

describe('tributary token --ttl', () => {
  it.each([
    ['3600', 3600],
    ['90s', 90],
    ['15m', 900],
    ['12h', 43_200],
    ['7d', 604_800],
    [' 60 ', 60],
  ])('reads %j as %i seconds', (text, seconds) => {
    expect(parseTtl(text)).toEqual({ seconds });
  });

  it.each(['0', '-5', 'abc', '1.5', '10y', '', '1e3', 'NaN'])(
    'refuses %j with a message, not a token',
    (text) => {
      expect(parseTtl(text)).toEqual({ problem: expect.stringContaining('--ttl') });
    },
  );

  it('refuses lifetimes beyond 30 days', () => {
    expect(parseTtl(String(MAX_TOKEN_TTL_SECONDS))).toEqual({ seconds: MAX_TOKEN_TTL_SECONDS });
    expect(parseTtl('31d')).toEqual({ problem: expect.stringContaining('30 days') });
    expect(parseTtl('3650d')).toEqual({ problem: expect.stringContaining('30 days') });
  });
});
