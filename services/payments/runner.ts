/**
 * Runs one idempotent operation (DESIGN §10): claim the key, replay or refuse when the key is finished,
 * used with other arguments or busy, and otherwise hand the operation an `Attempt` that resumes at the
 * key's recovery point and finishes it atomically with the operation's own writes.
 *
 * Failures: a LeaseLostError means another attempt took the key over; if that attempt finished, its
 * payload is this attempt's answer too. Any other failure releases the lease at the recovery point
 * reached, so the client's retry resumes there at once.
 */
import type { Logger } from 'pino';
import { IdempotencyError } from '../../domain/errors.js';
import type { AuditEntry, AuditLog } from '../../store/audit.js';
import type { Db, Queryable } from '../../store/db.js';
import {
  LeaseLostError,
  type IdempotencyRecord,
  type IdempotencyStore,
  type Json,
  type Lease,
  type RecoveryPoint,
} from '../../store/idempotency.js';
import type { Payment } from '../../domain/model.js';
import type { IdempotentMutation } from './keys.js';
import { latest } from './ledger.js';
import { loadPayload, storePayload, type PaymentPayload, type PaymentResult } from './payload.js';

/** Where a crash can be simulated (tests) or forced (the e2e crash switch). */
export type CrashPoint = 'started' | 'partner_requested' | 'partner_called' | 'partner_confirmed';

/** Called at each crash point; may throw (or kill the process) to simulate a crash there. */
export type Checkpoint = (point: CrashPoint, mutation: IdempotentMutation) => void | Promise<void>;

/** Thrown by a test checkpoint: the attempt stops as a crashed process would, without releasing its lease. */
export class SimulatedCrash extends Error {
  override readonly name = 'SimulatedCrash';
  constructor(readonly point: CrashPoint) {
    super(`simulated crash at ${point}`);
  }
}

/** What became of one attempt, for metrics (DESIGN §13: idempotency replays and conflicts). */
export type AttemptOutcome = 'executed' | 'replayed' | 'reused' | 'in_use' | 'taken_over' | 'unfinished';

/** How the runner leases, keeps and reports keys. */
export interface RunnerOptions {
  /** How long an attempt owns a key before another may take it over. */
  leaseMs: number;
  /** How long a finished key is kept. */
  retentionMs: number;
  logger: Logger;
  checkpoint?: Checkpoint;
  /** Told the outcome of every attempt (a metrics counter). */
  observe?: (outcome: AttemptOutcome, mutation: IdempotentMutation) => void;
  /**
   * The payment as the ledger holds it now. A replay keeps the first call's outcome (which payment,
   * which user errors) but answers the payment's current state, so a client's cache never goes back
   * in time (a retried initiatePayment after the settling webhook answers SETTLED, not PROCESSING).
   * Asked only when the claim did not bring the payment along.
   */
  current?: (subject: string, known: Payment) => Promise<Payment>;
  /** Stages the audit entry an outcome returns, in the statement that finishes its key. */
  audit?: AuditLog;
}

/** The identity of one logical operation. */
export interface OperationKey {
  subject: string;
  mutation: IdempotentMutation;
  key: string;
  fingerprint: string;
  partnerKey: string;
}

/** One attempt at a claimed operation. */
export interface Attempt {
  readonly record: IdempotencyRecord;
  readonly point: RecoveryPoint;
  readonly partnerKey: string;
  /** True when this attempt took over a key another attempt left unfinished. */
  readonly takenOver: boolean;
  /** Commits a recovery point (and renews the lease); throws LeaseLostError when taken over. */
  advance(
    point: 'partner_requested' | 'partner_confirmed',
    data?: { recovery?: Json; paymentId?: string },
  ): Promise<void>;
  /** Runs the test/e2e crash hook for a point. */
  checkpoint(point: CrashPoint): Promise<void>;
  /**
   * Writes the outcome and finishes the key in one transaction; returns the payload stored. The
   * outcome's audit entry, when `write` returns one, is staged in the statement that finishes the key.
   */
  finish(
    write: (
      tx: Queryable,
    ) => Promise<{ payload: PaymentPayload; paymentId: string | null; audit?: AuditEntry }>,
  ): Promise<PaymentPayload>;
}

/** Claims keys and runs attempts; one per PaymentService. */
export class IdempotentRunner {
  constructor(
    private readonly db: Db,
    private readonly store: IdempotencyStore,
    private readonly options: RunnerOptions,
  ) {}

  /** Claims `op` and runs `execute` unless the key is finished, reused or busy. */
  async run(
    op: OperationKey,
    execute: (attempt: Attempt) => Promise<PaymentPayload>,
  ): Promise<PaymentResult> {
    const claim = await this.store.claim({
      ...op,
      leaseMs: this.options.leaseMs,
      retentionMs: this.options.retentionMs,
    });
    const observe = (outcome: AttemptOutcome) => this.options.observe?.(outcome, op.mutation);
    switch (claim.kind) {
      case 'mismatch':
        observe('reused');
        throw new IdempotencyError(
          'IDEMPOTENCY_KEY_REUSED',
          'This idempotency key was already used with different arguments; use a new key for a new operation.',
        );
      case 'finished': {
        observe('replayed');
        const stored = loadPayload(claim.record.response);
        let payment = stored.payment;
        // The claim read the key's payment: the one the answer names, unless the key was finished
        // without naming it (then it is read here, as for a key found by the claim's re-read).
        const read = claim.payment !== undefined && claim.record.paymentId === payment?.id;
        if (payment && read) payment = latest(payment, claim.payment ?? null);
        else if (payment && this.options.current) payment = await this.options.current(op.subject, payment);
        return { payload: { ...stored, payment }, replayed: true };
      }
      case 'busy':
        observe('in_use');
        throw inUse();
      case 'acquired':
        break;
    }
    const logger = this.options.logger.child({
      mutation: op.mutation,
      recoveryPoint: claim.record.recoveryPoint,
    });
    if (claim.takenOver) observe('taken_over');
    if (claim.takenOver)
      logger.warn({ attempts: claim.record.attempts }, 'resuming an abandoned idempotent operation');
    const reached = { point: claim.record.recoveryPoint };
    const attempt = this.#attempt(op, claim.lease, claim.record, claim.takenOver, reached);
    try {
      if (attempt.point === 'started') await attempt.checkpoint('started');
      const payload = await execute(attempt);
      observe('executed');
      return { payload, replayed: false };
    } catch (error) {
      if (error instanceof SimulatedCrash) throw error;
      if (error instanceof LeaseLostError) return this.#afterLostLease(op, observe);
      observe('unfinished');
      // Past partner_requested the partner may have acted: say so, the next retry resolves it.
      logger.info(
        { err: error, reached: reached.point },
        'idempotent operation stopped unfinished; a retry with the same key resumes it',
      );
      await this.store.release(claim.lease).catch((releaseError: unknown) => {
        logger.warn({ err: releaseError }, 'could not release an idempotency lease; it will lapse');
      });
      throw error;
    }
  }

  async #afterLostLease(
    op: OperationKey,
    observe: (outcome: AttemptOutcome) => void,
  ): Promise<PaymentResult> {
    const record = await this.store.get(op.subject, op.mutation, op.key);
    if (record?.state === 'finished' && record.fingerprint === op.fingerprint) {
      observe('replayed');
      return { payload: loadPayload(record.response), replayed: true };
    }
    observe('in_use');
    throw inUse();
  }

  #attempt(
    op: OperationKey,
    lease: Lease,
    record: IdempotencyRecord,
    takenOver: boolean,
    reached: { point: RecoveryPoint },
  ): Attempt {
    const { store, db, options } = this;
    return {
      record,
      point: record.recoveryPoint,
      partnerKey: record.partnerKey,
      takenOver,
      advance: async (point, data = {}) => {
        await store.advance(lease, point, { leaseMs: options.leaseMs, ...data });
        reached.point = point;
      },
      checkpoint: async (point) => {
        await options.checkpoint?.(point, op.mutation);
      },
      finish: (write) =>
        db.transaction(async (tx) => {
          const { payload, paymentId, audit } = await write(tx);
          const settings = { retentionMs: options.retentionMs, paymentId };
          if (!audit) {
            await store.finish(lease, storePayload(payload), settings, tx);
            return payload;
          }
          if (!options.audit) throw new Error('An outcome with an audit entry needs the runner’s audit log.');
          // The key finished and the outcome's audit entry staged in one statement.
          const finishing = store.finishing(lease, storePayload(payload), settings);
          if (!(await options.audit.stageWith(tx, finishing, [audit]))) throw new LeaseLostError(lease);
          return payload;
        }),
    };
  }
}

function inUse(): IdempotencyError {
  return new IdempotencyError(
    'IDEMPOTENCY_KEY_IN_USE',
    'A request with this idempotency key is still being processed; retry shortly.',
  );
}
