import { describe, expect, it } from 'vitest';
import {
  PartnerPolicy,
  type BreakerState,
  type PolicyObserver,
  type PolicySettings,
} from '../../datasources/resilience.js';
import { ConsentRequiredError, PartnerError, type PartnerErrorCode } from '../../domain/errors.js';

const SETTINGS: PolicySettings = {
  readDeadlineMs: 2_000,
  writeDeadlineMs: 2_000,
  retryAttempts: 2,
  retryBaseMs: 10,
  retryMaxDelayMs: 50,
  breakerFailureRatio: 0.5,
  breakerWindowMs: 10_000,
  breakerMinRequests: 4,
  breakerHalfOpenMs: 200,
  bulkheadLimit: 4,
  bulkheadQueue: 4,
};

function recorder() {
  const seen = {
    attempts: [] as { endpoint: string; status: string; code: string | null }[],
    retries: 0,
    rejected: [] as string[],
    states: [] as BreakerState[],
  };
  const observer: PolicyObserver = {
    attempt: (endpoint, status, _seconds, code) => seen.attempts.push({ endpoint, status, code }),
    retry: () => void seen.retries++,
    rejected: (reason) => void seen.rejected.push(reason),
    breakerChanged: (state) => void seen.states.push(state),
  };
  return { seen, observer };
}

function policy(overrides: Partial<PolicySettings> = {}, observer?: PolicyObserver) {
  return new PartnerPolicy('openbanking', { ...SETTINGS, ...overrides }, observer ? { observer } : {});
}

const partnerError = (code: PartnerErrorCode, retryable: boolean, extra: object = {}) =>
  new PartnerError({ partner: 'openbanking', code, retryable, status: 503, ...extra });

/** A partner function that fails `failures` times with `error`, then answers. */
function flaky(failures: number, error: () => Error) {
  const calls = { count: 0 };
  const fn = async () => {
    calls.count++;
    if (calls.count <= failures) throw error();
    return { status: 200, data: 'ok' };
  };
  return { fn, calls };
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (error: unknown) => error,
  );
}

describe('PartnerPolicy', () => {
  it('retries a read on retryable partner errors, as many times as configured', async () => {
    const { seen, observer } = recorder();
    const partner = flaky(2, () => partnerError('PARTNER_UNAVAILABLE', true));
    const answer = await policy({}, observer).execute(partner.fn, { kind: 'read', endpoint: 'GET /x' });
    expect(answer.data).toBe('ok');
    expect(partner.calls.count).toBe(3);
    expect(seen.retries).toBe(2);
    expect(seen.attempts.map((attempt) => attempt.status)).toEqual(['503', '503', '200']);
  });

  it('gives up after the configured retries with the partner error', async () => {
    const partner = flaky(10, () => partnerError('PARTNER_UNAVAILABLE', true));
    const error = await failure(policy({ retryAttempts: 1 }).execute(partner.fn, { kind: 'read' }));
    expect(error).toMatchObject({ code: 'PARTNER_UNAVAILABLE' });
    expect(partner.calls.count).toBe(2);
  });

  it('retries keyed writes but never plain writes (or calls without a kind)', async () => {
    const keyed = flaky(1, () => partnerError('PARTNER_TIMEOUT', true));
    await policy().execute(keyed.fn, { kind: 'keyed-write' });
    expect(keyed.calls.count).toBe(2);
    const plain = flaky(1, () => partnerError('PARTNER_TIMEOUT', true));
    await failure(policy().execute(plain.fn, { kind: 'write' }));
    expect(plain.calls.count).toBe(1);
    const unlabelled = flaky(1, () => partnerError('PARTNER_TIMEOUT', true));
    await failure(policy().execute(unlabelled.fn));
    expect(unlabelled.calls.count).toBe(1);
  });

  it('does not retry errors that will not change: contract violations, consent errors', async () => {
    const contract = flaky(1, () => partnerError('PARTNER_CONTRACT_VIOLATION', false));
    await failure(policy().execute(contract.fn, { kind: 'read' }));
    expect(contract.calls.count).toBe(1);
    const consent = flaky(1, () => new ConsentRequiredError('openbanking', 'accounts:read'));
    expect(await failure(policy().execute(consent.fn, { kind: 'read' }))).toBeInstanceOf(
      ConsentRequiredError,
    );
    expect(consent.calls.count).toBe(1);
  });

  it("waits as long as the partner's Retry-After asks", async () => {
    const rateLimited = () =>
      partnerError('PARTNER_RATE_LIMITED', true, { status: 429, retryAfterSeconds: 1 });
    const partner = flaky(1, rateLimited);
    const started = performance.now();
    await policy({ readDeadlineMs: 5_000 }).execute(partner.fn, { kind: 'read' });
    expect(performance.now() - started).toBeGreaterThanOrEqual(950);
    expect(partner.calls.count).toBe(2);
  });

  it('answers PARTNER_RATE_LIMITED at once when Retry-After is beyond the deadline', async () => {
    const rateLimited = () =>
      partnerError('PARTNER_RATE_LIMITED', true, { status: 429, retryAfterSeconds: 30 });
    const partner = flaky(5, rateLimited);
    const started = performance.now();
    const error = await failure(policy().execute(partner.fn, { kind: 'read' }));
    expect(error).toMatchObject({ code: 'PARTNER_RATE_LIMITED', retryAfterSeconds: 30 });
    expect(partner.calls.count).toBe(1);
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('bounds the whole call by the deadline and aborts the attempt in flight', async () => {
    let aborted = false;
    const hang = (signal: AbortSignal) =>
      new Promise<never>(() => signal.addEventListener('abort', () => (aborted = true)));
    const started = performance.now();
    const error = await failure(policy({ readDeadlineMs: 300 }).execute(hang, { kind: 'read' }));
    expect(error).toMatchObject({ code: 'PARTNER_TIMEOUT', retryable: true });
    expect(performance.now() - started).toBeLessThan(1_300);
    expect(aborted).toBe(true);
  });

  it('opens the breaker past the failure ratio, fails fast without calling, and recovers half-open', async () => {
    const { seen, observer } = recorder();
    const guarded = policy({ retryAttempts: 0 }, observer);
    let healthy = false;
    let calls = 0;
    const partner = async () => {
      calls++;
      if (!healthy) throw partnerError('PARTNER_UNAVAILABLE', true);
      return { status: 200 };
    };
    for (let i = 0; i < 4; i++) await failure(guarded.execute(partner, { kind: 'read' }));
    expect(guarded.health().breakerState).toBe('OPEN');
    const before = calls;
    const refused = await failure(guarded.execute(partner, { kind: 'read' }));
    expect(refused).toMatchObject({ code: 'PARTNER_UNAVAILABLE', retryable: true, unsent: 'breaker open' });
    // A keyed write (a payment) refused while open never reached the partner: safe to retry or fail over.
    const write = await failure(guarded.execute(partner, { kind: 'keyed-write' }));
    expect(write).toMatchObject({ code: 'PARTNER_UNAVAILABLE', unsent: 'breaker open', doubtful: false });
    expect(calls).toBe(before);
    expect(seen.rejected).toEqual(['breaker_open', 'breaker_open']);

    healthy = true;
    await new Promise((resolve) => setTimeout(resolve, 250));
    await guarded.execute(partner, { kind: 'read' });
    expect(calls).toBe(before + 1);
    expect(guarded.health().breakerState).toBe('CLOSED');
    expect(seen.states).toEqual(['OPEN', 'HALF_OPEN', 'CLOSED']);
  });

  it('does not count answers the partner meant (consent, contract) as breaker failures', async () => {
    const guarded = policy({ retryAttempts: 0 });
    const consent = async () => {
      throw new ConsentRequiredError('openbanking', 'accounts:read');
    };
    for (let i = 0; i < 8; i++) await failure(guarded.execute(consent, { kind: 'read' }));
    expect(guarded.health().breakerState).toBe('CLOSED');
  });

  it('queues up to the bulkhead limit and rejects at once when the queue is full', async () => {
    const { seen, observer } = recorder();
    const guarded = policy({ bulkheadLimit: 1, bulkheadQueue: 1 }, observer);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let calls = 0;
    const slow = async () => {
      calls++;
      await gate;
      return { status: 200 };
    };
    const first = guarded.execute(slow, { kind: 'read' });
    const queued = guarded.execute(slow, { kind: 'read' });
    const started = performance.now();
    const rejected = await failure(guarded.execute(slow, { kind: 'read' }));
    expect(performance.now() - started).toBeLessThan(100);
    expect(rejected).toMatchObject({ code: 'PARTNER_UNAVAILABLE', retryable: true });
    expect(seen.rejected).toEqual(['bulkhead_full']);
    expect(calls).toBe(1);
    release();
    await Promise.all([first, queued]);
    expect(calls).toBe(2);
  });

  it('reports the last minute of attempts for partnerHealth', async () => {
    const guarded = policy({ retryAttempts: 0 });
    await guarded.execute(async () => ({ status: 200 }), { kind: 'read' });
    await failure(
      guarded.execute(flaky(1, () => partnerError('PARTNER_TIMEOUT', true)).fn, { kind: 'read' }),
    );
    const health = guarded.health();
    expect(health).toMatchObject({ provider: 'openbanking', breakerState: 'CLOSED', requestsLastMinute: 2 });
    expect(health.errorRate).toBe(0.5);
    expect(health.lastErrorAt).toBeInstanceOf(Date);
    expect(health.latencyP50Ms).toBeGreaterThanOrEqual(0);
    expect(policy().health()).toMatchObject({ errorRate: null, requestsLastMinute: 0, latencyP99Ms: null });
  });
});
