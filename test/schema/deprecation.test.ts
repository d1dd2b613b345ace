import { describe, expect, it } from 'vitest';
import { renderSnapshot } from '../../schema/tooling/check.js';
import { removalDateOf } from '../../schema/tooling/deprecation.js';
import { check, directive, editMember, errorKeys, realSdl, removeMember } from './helpers.js';

function deprecate(sdl: string, coordinate: string, reason: string): string {
  return editMember(sdl, coordinate, (node) => ({
    ...node,
    directives: [...(node.directives ?? []), directive(`@deprecated(reason: ${JSON.stringify(reason)})`)],
  }));
}

describe('the deprecation policy', () => {
  it.each([
    ['Use bookedAt. Removal: 2026-09-30.', '2026-09-30'],
    ['Removed after 2026-09-30; use bookedAt.', '2026-09-30'],
    ['Will remove on 2027-01-01', '2027-01-01'],
    ['Use bookedAt.', null],
    ['Use bookedAt. Removal: 2026-02-30.', null],
    ['Introduced 2024-01-01, use bookedAt.', null],
  ])('reads the removal date of %j as %s', (reason, date) => {
    expect(removalDateOf(reason)).toBe(date);
  });

  it('accepts a deprecation that names a removal date', async () => {
    const sdl = deprecate(realSdl(), 'Transaction.category', 'Use merchantName. Removal: 2026-06-30.');

    const report = await check({ sdl });

    expect(errorKeys(report.problems)).toEqual([]);
  });

  it('fails a deprecation without a removal date', async () => {
    const sdl = deprecate(realSdl(), 'Transaction.category', 'Use merchantName.');

    const report = await check({ sdl });

    expect(errorKeys(report.problems)).toEqual(['deprecation/removal-date@Transaction.category']);
    expect(firstError(report.problems)).toContain('must name a removal date');
  });

  it('fails a deprecated enum value without a removal date', async () => {
    const sdl = deprecate(realSdl(), 'AccountType.LOAN', 'Folded into OTHER.');

    const report = await check({ sdl });

    expect(errorKeys(report.problems)).toEqual(['deprecation/removal-date@AccountType.LOAN']);
  });

  describe('removing a deprecated field', () => {
    const published = renderSnapshot(
      deprecate(realSdl(), 'Transaction.category', 'Use merchantName. Removal: 2026-03-31.'),
    );
    const withoutCategory = removeMember(realSdl(), 'Transaction.category');

    it('is refused before its removal date, like any other breaking change', async () => {
      const report = await check({ sdl: withoutCategory, published, today: '2026-03-30' });

      expect(errorKeys(report.problems)).toEqual(['breaking/FIELD_REMOVED@Transaction.category']);
      expect(firstError(report.problems)).toContain(
        'removed before its removal date 2026-03-31 (today is 2026-03-30)',
      );
    });

    it('is accepted from its removal date on', async () => {
      const report = await check({ sdl: withoutCategory, published, today: '2026-03-31' });

      expect(report.ok).toBe(true);
      expect(report.accepted).toEqual([expect.stringContaining('removal date 2026-03-31, which has passed')]);
    });

    it('is still accepted before the date when recorded as intended', async () => {
      const report = await check({
        sdl: withoutCategory,
        published,
        today: '2026-03-01',
        intended: [{ path: 'Transaction.category', reason: 'Partner dropped categories early (#40).' }],
      });

      expect(report.ok).toBe(true);
    });

    it('is refused when the deprecation named no date', async () => {
      const undated = renderSnapshot(deprecate(realSdl(), 'Transaction.category', 'Use merchantName.'));

      const report = await check({ sdl: withoutCategory, published: undated, today: '2030-01-01' });

      expect(errorKeys(report.problems)).toEqual(['breaking/FIELD_REMOVED@Transaction.category']);
      expect(firstError(report.problems)).toContain('deprecated without a removal date');
    });
  });

  it('accepts removal of a deprecated enum value after its date', async () => {
    const published = renderSnapshot(
      deprecate(realSdl(), 'AccountType.LOAN', 'Folded into OTHER. Removal: 2026-01-01.'),
    );

    const report = await check({
      sdl: removeMember(realSdl(), 'AccountType.LOAN'),
      published,
      today: '2026-01-02',
    });

    expect(errorKeys(report.problems)).toEqual([]);
  });

  it('warns, without failing, about a deprecation whose removal date has passed', async () => {
    const sdl = deprecate(realSdl(), 'Transaction.category', 'Use merchantName. Removal: 2025-12-31.');

    const report = await check({ sdl, today: '2026-01-15' });

    expect(report.ok).toBe(true);
    expect(report.problems).toContainEqual(
      expect.objectContaining({ severity: 'warning', rule: 'due', coordinate: 'Transaction.category' }),
    );
  });
});

/** The first error's message (composition hints, such as the Node interface's merged scopes, are warnings). */
function firstError(problems: readonly { severity: string; message: string }[]): string | undefined {
  return problems.find((problem) => problem.severity === 'error')?.message;
}
