import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SecretBox, SecretBoxError, generateKeyRingEntry, parseKeyRing } from '../../store/secrets.js';

// Pure crypto, no database: this suite does not run per backend.
const key = () => randomBytes(32);
const k1 = key();
const k2 = key();
const AAD = 'consent:1:cust_alice:plaid';

/** Replaces one character of the part at `index` (0 = version ... 4 = ciphertext). */
function tamper(sealed: string, index: number): string {
  const parts = sealed.split('.');
  const part = parts[index] as string;
  parts[index] = (part[0] === 'A' ? 'B' : 'A') + part.slice(1);
  return parts.join('.');
}

describe('SecretBox', () => {
  const box = new SecretBox({ current: 'k1', keys: { k1 } });

  it('opens what it sealed, including non-ASCII text', () => {
    const secret = 'access-token-ünïcødé-🔑';
    expect(box.open(box.seal(secret, AAD), AAD)).toBe(secret);
  });

  it('produces a self-describing token with a fresh IV every time', () => {
    const first = box.seal('same', AAD);
    const second = box.seal('same', AAD);
    expect(first).not.toBe(second);
    expect(first).toMatch(/^v1\.k1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]+$/);
    expect(first).not.toContain('same');
    expect(box.keyIdOf(first)).toBe('k1');
  });

  it.each([
    ['IV', 2],
    ['tag', 3],
    ['ciphertext', 4],
  ])('refuses a token whose %s was altered', (_part, index) => {
    const sealed = box.seal('secret', AAD);
    expect(() => box.open(tamper(sealed, index), AAD)).toThrow(SecretBoxError);
    expect(() => box.open(tamper(sealed, index), AAD)).toThrow(/failed authentication/);
  });

  it('refuses a token opened with another aad, so it cannot move to another row', () => {
    const sealed = box.seal('secret', AAD);
    expect(() => box.open(sealed, 'consent:2:cust_bob:plaid')).toThrow(/failed authentication/);
  });

  it('refuses a token sealed with a key id the ring does not hold, naming the id', () => {
    const other = new SecretBox({ current: 'gone', keys: { gone: key() } });
    expect(() => box.open(other.seal('secret', AAD), AAD)).toThrow(/"gone".*not in the key ring/);
  });

  it('refuses a token relabelled with another key id of the ring', () => {
    const both = new SecretBox({ current: 'k1', keys: { k1, k2 } });
    const relabelled = both.seal('secret', AAD).replace('v1.k1.', 'v1.k2.');
    expect(() => both.open(relabelled, AAD)).toThrow(/failed authentication/);
  });

  it.each(['', 'plain text', 'v2.k1.a.b.c', 'v1.k1.!!!.b.c', 'v1.k1.AAAA.AAAA.AAAA'])(
    'refuses %j as not a well-formed token',
    (sealed) => {
      expect(() => box.open(sealed, AAD)).toThrow(SecretBoxError);
    },
  );

  it('opens old tokens after rotation and seals new ones with the new current key', () => {
    const sealedBefore = box.seal('old secret', AAD);
    const rotated = new SecretBox({ current: 'k2', keys: { k2, k1 } });
    expect(rotated.open(sealedBefore, AAD)).toBe('old secret');
    const sealedAfter = rotated.seal('new secret', AAD);
    expect(rotated.keyIdOf(sealedAfter)).toBe('k2');
    expect(() => box.open(sealedAfter, AAD)).toThrow(/"k2"/);
    const retired = new SecretBox({ current: 'k2', keys: { k2 } });
    expect(() => retired.open(sealedBefore, AAD)).toThrow(/"k1"/);
  });

  it('refuses a key ring whose current key is missing or whose keys are not 32 bytes', () => {
    expect(() => new SecretBox({ current: 'k9', keys: { k1 } })).toThrow(/"k9" is not in the key ring/);
    expect(() => new SecretBox({ current: 'k1', keys: { k1: randomBytes(16) } })).toThrow(/16 bytes/);
  });
});

describe('parseKeyRing', () => {
  it('reads kid:base64 pairs and makes the first key current', () => {
    const ring = parseKeyRing(` new:${k2.toString('base64')} , old:${k1.toString('base64')}`);
    expect(ring.current).toBe('new');
    expect(ring.keys).toEqual({ new: k2, old: k1 });
  });

  it('accepts what generateKeyRingEntry produces', () => {
    const ring = parseKeyRing(`${generateKeyRingEntry('2025-01')},${generateKeyRingEntry('2024-07')}`);
    expect(Object.keys(ring.keys)).toEqual(['2025-01', '2024-07']);
    expect(new SecretBox(ring).currentKeyId).toBe('2025-01');
  });

  it.each([
    ['', /empty/],
    ['  ,  ', /empty/],
    [`nokey${k1.toString('base64')}`, /key 1 is not "kid:<base64 key>"/],
    [`:${k1.toString('base64')}`, /key 1 is not "kid:<base64 key>"/],
    [`bad id:${k1.toString('base64')}`, /key 1 has an invalid id/],
    ['k1:not*base64', /"k1" is not valid base64/],
    [`k1:${randomBytes(16).toString('base64')}`, /"k1" is 16 bytes; AES-256 needs exactly 32/],
    [`k1:${k1.toString('base64')},k1:${k2.toString('base64')}`, /"k1" twice/],
  ])('refuses %j with a clear error', (text, message) => {
    expect(() => parseKeyRing(text)).toThrow(SecretBoxError);
    expect(() => parseKeyRing(text)).toThrow(message);
  });

  it('never echoes key material in its errors', () => {
    const short = randomBytes(16).toString('base64');
    expect(() => parseKeyRing(`k1:${short}`)).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining(short) }),
    );
  });
});
