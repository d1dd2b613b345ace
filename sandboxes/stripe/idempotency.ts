/**
 * Stripe's idempotent requests (https://docs.stripe.com/api/idempotent_requests), on every POST:
 * the status and body of the first request that began executing are saved per key and replayed,
 * with `Idempotent-Replayed: true`, to later requests with the same parameters; other parameters or
 * another endpoint under the same key answer 400 idempotency_error; a request arriving while the
 * first is still executing answers 409 idempotency_key_in_use. Requests that fail validation before
 * execution (400, 401, 404) are not saved, so they can be corrected and retried. Keys are pruned
 * after 24 hours of sandbox time.
 */
import type { Reply } from '../kit/sandbox.js';
import { docUrl, StripeFailure } from './errors.js';

const TTL_MS = 24 * 3_600_000;
/** Stripe's limit on Idempotency-Key length. */
export const MAX_KEY_LENGTH = 255;

interface Entry {
  endpoint: string;
  fingerprint: string;
  createdAt: number;
  /** The request id of the first request, sent back as Original-Request on replays. */
  requestId: string;
  reply: Reply | null;
}

/** A claimed key (execute, then finish with the reply) or the saved reply to replay. */
export type Claim =
  { kind: 'execute'; finish: (reply: Reply | null) => void } | { kind: 'replay'; reply: Reply };

/** Saved answers per (API key, idempotency key). */
export class IdempotencyStore {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly now: () => number) {}

  /**
   * Claims a key for a request, or answers it from the saved first response. Throws the
   * idempotency_error / idempotency_key_in_use failures Stripe answers.
   */
  claim(scope: string, key: string, endpoint: string, fingerprint: string, requestId: string): Claim {
    const id = `${scope}\u0000${key}`;
    const now = this.now();
    const existing = this.entries.get(id);
    if (existing && now - existing.createdAt >= TTL_MS) this.entries.delete(id);
    const entry = this.entries.get(id);
    if (entry) {
      if (entry.endpoint !== endpoint) {
        throw idempotencyError(
          `Keys for idempotent requests can only be used for the same endpoint they were first used for ('${endpoint.split(' ')[1]}' vs '${entry.endpoint.split(' ')[1]}'). Try using a key other than '${key}' if you meant to execute a different request.`,
        );
      }
      if (entry.reply === null) {
        throw new StripeFailure(409, {
          type: 'invalid_request_error',
          code: 'idempotency_key_in_use',
          doc_url: docUrl('idempotency_key_in_use'),
          message: `There is currently another in-progress request using this idempotency key (that probably means you submitted twice, and the other request is still going through): ${key}. Please try again later.`,
        });
      }
      if (entry.fingerprint !== fingerprint) {
        throw idempotencyError(
          `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
        );
      }
      const saved = entry.reply;
      const headers = {
        ...saved.headers,
        'idempotent-replayed': 'true',
        'original-request': entry.requestId,
      };
      return { kind: 'replay', reply: { ...saved, headers } };
    }
    const fresh: Entry = { endpoint, fingerprint, createdAt: now, requestId, reply: null };
    this.entries.set(id, fresh);
    return {
      kind: 'execute',
      finish: (reply) => {
        if (reply && isSaved(reply.status)) fresh.reply = structuredClone(reply);
        else this.entries.delete(id);
      },
    };
  }

  clear(): void {
    this.entries.clear();
  }
}

/** Outcomes of an executed endpoint are saved; validation failures are not. */
function isSaved(status: number): boolean {
  return status < 400 || status === 402 || status >= 500;
}

function idempotencyError(message: string): StripeFailure {
  return new StripeFailure(400, { type: 'idempotency_error', message });
}
