import { describe, expect, it } from 'vitest';
import { REMEMBERED_IDS, decodeAnyId, decodeId, encodeId } from '../../domain/ids.js';

describe('global ids', () => {
  it('round-trips kind, provider and partner id through an opaque base64url id', () => {
    const id = encodeId('Account', 'plaid', 'acc:with:colons');
    expect(id).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeAnyId(id)).toEqual({ kind: 'Account', provider: 'plaid', partnerId: 'acc:with:colons' });
    expect(decodeId(id, 'Account')?.partnerId).toBe('acc:with:colons');
    expect(decodeId(id, 'Transaction')).toBeNull();
  });

  it('refuses malformed ids, unknown kinds, badly shaped providers and a second spelling of one id', () => {
    const text = (raw: string) => Buffer.from(raw, 'utf8').toString('base64url');
    expect(decodeAnyId('')).toBeNull();
    expect(decodeAnyId('not base64!')).toBeNull();
    expect(decodeAnyId('x'.repeat(513))).toBeNull();
    expect(decodeAnyId(text('Account:plaid'))).toBeNull();
    expect(decodeAnyId(text('Account:plaid:'))).toBeNull();
    expect(decodeAnyId(text('Widget:plaid:1'))).toBeNull();
    expect(decodeAnyId(text('Account:No-Bank:1'))).toBeNull();
    // Standard base64 padding is a second spelling of the same bytes: not the id.
    const id = encodeId('Account', 'plaid', 'a');
    expect(decodeAnyId(`${id}=`)).toBeNull();
    expect(decodeAnyId(id)).not.toBeNull();
  });

  it('decodes an id once: the same id again is the same frozen value', () => {
    const id = encodeId('Transaction', 'openbanking', 'tx-remembered');
    const first = decodeAnyId(id);
    expect(decodeAnyId(id)).toBe(first);
    expect(decodeId(id, 'Transaction')).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
  });

  it('stays bounded: once it holds its limit of ids it starts over, and still decodes right', () => {
    const id = encodeId('Payment', 'stripe', 'pi_bounded');
    const first = decodeAnyId(id);
    for (let i = 0; i < REMEMBERED_IDS; i++) decodeAnyId(encodeId('Payment', 'stripe', `pi_${i}`));
    const again = decodeAnyId(id);
    expect(again).not.toBe(first);
    expect(again).toEqual(first);
  });
});
