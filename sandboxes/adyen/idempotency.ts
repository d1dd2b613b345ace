/**
 * Adyen's API idempotency (docs.adyen.com/development-resources/api-idempotency) on every POST: a key
 * of at most 64 characters in `Idempotency-Key`; the first answer under a key is saved and returned to
 * later requests with the same key and the same body, every answer echoing the key in its
 * `Idempotency-Key` header. The same key with another body (or another endpoint) is refused with 422;
 * a request arriving while the first is still executing gets 422 704 with `transient-error: true`, so
 * the caller retries it. Keys are scoped per API key here (Adyen scopes them per company account, and
 * the sandbox has one company per key). Answers of executed requests (2xx, 5xx) are saved; validation
 * failures (4xx) are not, so a corrected request can reuse its key.
 */
import type { Reply } from '../kit/sandbox.js';
import { AdyenFailure } from './errors.js';

/** Adyen's limit on Idempotency-Key length. */
export const MAX_KEY_LENGTH = 64;

interface Entry {
  endpoint: string;
  fingerprint: string;
  reply: Reply | null;
}

export type Claim = { kind: 'execute'; finish: (reply: Reply) => void } | { kind: 'replay'; reply: Reply };

/** Saved answers per (API key, idempotency key). */
export class IdempotencyStore {
  private readonly entries = new Map<string, Entry>();

  /** Claims a key for a request, or answers it from the saved first answer; throws Adyen's 422s. */
  claim(scope: string, key: string, endpoint: string, body: unknown): Claim {
    if (key.length === 0 || key.length > MAX_KEY_LENGTH) {
      throw new AdyenFailure(
        422,
        '702',
        `Idempotency-Key must be 1 to ${MAX_KEY_LENGTH} characters long`,
        'validation',
      );
    }
    const id = `${scope}\u0000${key}`;
    const fingerprint = canonical(body);
    const entry = this.entries.get(id);
    if (entry) {
      if (entry.reply === null) {
        throw new AdyenFailure(
          422,
          '704',
          'request already processed or in progress',
          'validation',
          undefined,
          {
            'transient-error': 'true',
          },
        );
      }
      if (entry.endpoint !== endpoint || entry.fingerprint !== fingerprint) {
        throw new AdyenFailure(
          422,
          '704',
          'Idempotency key was already used with a different request',
          'validation',
        );
      }
      return { kind: 'replay', reply: structuredClone(entry.reply) };
    }
    const fresh: Entry = { endpoint, fingerprint, reply: null };
    this.entries.set(id, fresh);
    return {
      kind: 'execute',
      finish: (reply) => {
        if (reply.status < 400 || reply.status >= 500) fresh.reply = structuredClone(reply);
        else this.entries.delete(id);
      },
    };
  }

  clear(): void {
    this.entries.clear();
  }
}

/** JSON with object keys sorted, so two bodies that differ only in key order are the same request. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
