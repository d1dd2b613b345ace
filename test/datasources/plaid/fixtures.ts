/**
 * Recorded Plaid payloads (test/fixtures/plaid, recorded from the sandbox by record.ts), parsed.
 */
import { readFileSync } from 'node:fs';
import { fromRoot } from '../../../store/paths.js';

/** A recorded fixture, parsed fresh on every call so tests may change their copy. */
export function plaidFixture<T = Record<string, unknown>>(name: string): T {
  return JSON.parse(readFileSync(fromRoot('test', 'fixtures', 'plaid', name), 'utf8')) as T;
}

/** A recorded error answer: HTTP status and Plaid's error object. */
export interface RecordedError {
  status: number;
  body: Record<string, unknown>;
}

/** Every recorded fixture, by file name. */
export const FIXTURES = {
  accountsCarol: 'accounts-get.carol.json',
  balancesAlice: 'accounts-balance-get.alice.json',
  syncCarol: 'transactions-sync.carol.json',
  syncAliceChanges: 'transactions-sync.alice-changes.json',
  errorInvalidAccessToken: 'error.invalid-access-token.json',
  errorItemLoginRequired: 'error.item-login-required.json',
  errorRateLimit: 'error.rate-limit.json',
  errorApi: 'error.api-error.json',
  errorMutation: 'error.mutation-during-pagination.json',
} as const;
