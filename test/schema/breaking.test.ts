import { describe, expect, it } from 'vitest';
import { formatReport } from '../../schema/tooling/check.js';
import {
  addField,
  check,
  directive,
  editMember,
  errorKeys,
  field,
  realSdl,
  removeMember,
} from './helpers.js';

const MERCHANT_REMOVED = 'breaking/FIELD_REMOVED@Transaction.merchantName';

describe('breaking changes against the published snapshot', () => {
  it('passes when the SDL equals the snapshot', async () => {
    const report = await check({ sdl: realSdl() });

    expect(errorKeys(report.problems)).toEqual([]);
    expect(report.ok).toBe(true);
  });

  it('reports a removed field as breaking, naming the field and how to approve it', async () => {
    const report = await check({ sdl: removeMember(realSdl(), 'Transaction.merchantName') });

    expect(report.ok).toBe(false);
    expect(errorKeys(report.problems)).toEqual([MERCHANT_REMOVED]);
    const text = formatReport(report);
    expect(text).toContain(
      "✖ Transaction.merchantName: Field 'merchantName' was removed from object type 'Transaction'",
    );
    expect(text).toContain('removed without a deprecation period');
    expect(text).toContain('"path": "Transaction.merchantName", "type": "FIELD_REMOVED"');
  });

  it('reports a changed field type as breaking', async () => {
    const sdl = editMember(realSdl(), 'Account.maskedNumber', () =>
      field('"Last four." maskedNumber: Int @pii'),
    );

    const report = await check({ sdl });

    expect(errorKeys(report.problems)).toEqual(['breaking/FIELD_TYPE_CHANGED@Account.maskedNumber']);
    expect(formatReport(report)).toContain(
      "Field 'Account.maskedNumber' changed type from 'String' to 'Int'",
    );
  });

  it('reports a removed enum value and a new required argument as breaking', async () => {
    let sdl = removeMember(realSdl(), 'BreakerState.HALF_OPEN');
    sdl = editMember(sdl, 'Query.consents', () =>
      field(
        '"Consents." consents("Only this partner." provider: Provider!): [Consent!]! @requiresScopes(scopes: [["consents:read"]]) @listSize(assumedSize: 20)',
      ),
    );

    const report = await check({ sdl });

    expect(errorKeys(report.problems).sort()).toEqual([
      'breaking/ENUM_VALUE_REMOVED@BreakerState.HALF_OPEN',
      'breaking/FIELD_ARGUMENT_ADDED@Query.consents.provider',
    ]);
  });

  it('accepts a breaking change recorded in intended-changes.json', async () => {
    const report = await check({
      sdl: removeMember(realSdl(), 'Transaction.merchantName'),
      intended: [
        { path: 'Transaction.merchantName', type: 'FIELD_REMOVED', reason: 'No partner sends it (#31).' },
      ],
    });

    expect(report.ok).toBe(true);
    expect(report.accepted).toEqual([expect.stringContaining('Transaction.merchantName')]);
    expect(report.accepted[0]).toContain('intended: No partner sends it (#31).');
  });

  it('does not accept an intended entry of another change type, and warns that it matched nothing', async () => {
    const report = await check({
      sdl: removeMember(realSdl(), 'Transaction.merchantName'),
      intended: [
        { path: 'Transaction.merchantName', type: 'FIELD_TYPE_CHANGED', reason: 'Wrong entry for this.' },
      ],
    });

    expect(errorKeys(report.problems)).toEqual([MERCHANT_REMOVED]);
    expect(report.problems).toContainEqual(
      expect.objectContaining({
        severity: 'warning',
        rule: 'unused-intended',
        coordinate: 'Transaction.merchantName',
      }),
    );
  });

  it('treats a field that now needs a scope old tokens lack as breaking', async () => {
    const sdl = editMember(realSdl(), 'Account.name', (node) => ({
      ...node,
      directives: [directive('@requiresScopes(scopes: [["balances:read"]])')],
    }));

    const report = await check({ sdl });

    expect(errorKeys(report.problems)).toEqual(['breaking/REQUIRED_SCOPES_TIGHTENED@Account.name']);
    expect(formatReport(report)).toContain(
      "Field 'Account.name' now requires accounts:read + balances:read (was accounts:read)",
    );
  });

  it('lets a field offer an extra alternative scope (a loosening) through', async () => {
    const sdl = editMember(realSdl(), 'Query.partnerHealth', (node) => ({
      ...node,
      directives: [
        ...(node.directives ?? []).filter((d) => d.name.value !== 'requiresScopes'),
        directive('@requiresScopes(scopes: [["ops:read"], ["ops:write"]])'),
      ],
    }));

    const report = await check({ sdl });

    expect(errorKeys(report.problems)).toEqual([]);
  });

  it('counts an added nullable field as a safe change', async () => {
    const sdl = addField(
      realSdl(),
      'Transaction',
      '"The merchant category code." merchantCategoryCode: String',
    );

    const report = await check({ sdl });

    expect(report.ok).toBe(true);
    expect(report.notes).toContainEqual(
      expect.stringMatching(/breaking: 0 unapproved, 0 accepted, [1-9]\d* safe/),
    );
  });

  it('fails when there is no published snapshot, but the first publish may create one', async () => {
    const checked = await check({ sdl: realSdl(), published: null });
    const published = await check({ sdl: realSdl(), published: null, mode: 'publish' });

    expect(errorKeys(checked.problems)).toEqual(['breaking/no-snapshot@schema/published.graphql']);
    expect(published.ok).toBe(true);
  });
});
