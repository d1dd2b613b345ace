/**
 * The payments ledger as the rest of the process uses it. `applyStatus` is the one entry point for
 * status changes, whoever reports them (our API calls, webhooks, reconciliation, operators): it locks
 * the payment, asks the state machine, and appends history, so duplicate and out-of-order reports are
 * harmless and concurrent reporters serialise on the row.
 */
import type { Payment, PaymentEvent, PaymentStatus, Refund } from '../../domain/model.js';
import type { Db, Queryable } from '../../store/db.js';
import type { PaymentRepository, StatusPatch } from '../../store/payments.js';
import { transitionPath } from './status.js';

/** Who reported a status, and when it happened at the source. */
export interface StatusReport {
  source: PaymentEvent['source'];
  /** When the partner says the change happened; default now. */
  at?: Date;
  detail?: string | null;
  patch?: StatusPatch;
  /**
   * The status the reporter read from the ledger earlier (a webhook's owner read). Statuses only move
   * forward, so a report that `seen` already covers moves nothing now either: it is answered without a
   * read, and one that moves the payment goes straight to the lock.
   */
  seen?: PaymentStatus;
}

/** What applyStatus did. */
export interface StatusChange {
  from: PaymentStatus;
  /** The status after the call (unchanged when the report was stale or a duplicate). */
  to: PaymentStatus;
  changed: boolean;
}

/** The payments ledger: status changes through the state machine, and recording partner answers. */
export class PaymentLedger {
  constructor(
    private readonly db: Db,
    readonly repository: PaymentRepository,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /**
   * Moves a payment towards `status` if the state machine allows it, recording each status passed.
   * Idempotent and order-independent; null when the payment is unknown. Pass `tx` to join a transaction.
   */
  async applyStatus(
    paymentId: string,
    status: PaymentStatus,
    report: StatusReport,
    tx?: Queryable,
  ): Promise<StatusChange | null> {
    if (!tx && !refreshes(report.patch)) {
      // A report that moves nothing (the status held, or one behind it: statuses only move forward)
      // and has no details to refresh needs neither the lock nor a transaction: one read decides it.
      // Partners report a payment's final status again and again (the webhook after a synchronous
      // answer, duplicates, out-of-order deliveries), so this is the common case. `from` and `to` are
      // then the status as read, which may be `seen` (read before the partner was asked).
      const held = report.seen ?? (await this.repository.statusOf(this.db, paymentId));
      if (!held) return null;
      if (transitionPath(held, status).length === 0) return { from: held, to: held, changed: false };
    }
    const run = async (q: Queryable): Promise<StatusChange | null> => {
      const locked = await this.repository.lockForStatus(q, paymentId);
      if (!locked) return null;
      const at = report.at ?? this.now();
      const path = transitionPath(locked.status, status);
      for (const step of path) {
        await this.repository.appendEvent(q, paymentId, {
          status: step,
          at,
          source: report.source,
          detail: step === status ? (report.detail ?? null) : `implied by ${status}`,
        });
      }
      const to = path.at(-1) ?? locked.status;
      // A report of the current status may still refresh its details (a new redirect URL).
      if (path.length > 0 || (status === locked.status && refreshes(report.patch))) {
        await this.repository.setStatus(q, paymentId, to, at, report.patch ?? {});
      }
      return { from: locked.status, to, changed: path.length > 0 };
    };
    return tx ? run(tx) : this.db.transaction(run);
  }

  /**
   * Records a payment the partner reported (created, cancelled, refunded): inserts it when new, applies
   * its status and upserts its refunds. `payment.ownerId` must be the subject.
   */
  async record(q: Queryable, payment: Payment, report: StatusReport): Promise<StatusChange | null> {
    const inserted = await this.repository.insert(q, payment);
    const refunds: Refund[] = payment.refunds;
    for (const refund of refunds) await this.repository.upsertRefund(q, payment.id, refund, this.now());
    const patch: StatusPatch = {
      failureReason: payment.status === 'FAILED' ? payment.failureReason : null,
      nextAction: payment.status === 'REQUIRES_ACTION' ? payment.nextAction : null,
    };
    const change = await this.applyStatus(payment.id, payment.status, { ...report, patch }, q);
    if (inserted && change && !change.changed) {
      // A new payment reported as PENDING still gets its first history entry.
      await this.repository.appendEvent(q, payment.id, {
        status: payment.status,
        at: report.at ?? this.now(),
        source: report.source,
        detail: report.detail ?? null,
      });
    }
    return change;
  }

  /**
   * Records a payment our own call just created at the partner and returns it as the ledger now holds
   * it: one statement for a new payment (the row and the statuses it passed, as `record` would write
   * them), `record` and a read otherwise (already recorded, e.g. by a webhook; or carrying refunds).
   */
  async recordCreated(q: Queryable, payment: Payment, report: StatusReport): Promise<Payment | null> {
    const path = transitionPath('PENDING', payment.status);
    if (payment.refunds.length === 0 && (payment.status === 'PENDING' || path.length > 0)) {
      const at = report.at ?? this.now();
      const steps = payment.status === 'PENDING' ? ['PENDING' as const] : path;
      const events: PaymentEvent[] = steps.map((step) => ({
        status: step,
        at,
        source: report.source,
        detail: step === payment.status ? (report.detail ?? null) : `implied by ${payment.status}`,
      }));
      const stored = await this.repository.insertWithHistory(q, payment, events, {
        failureReason: payment.status === 'FAILED' ? payment.failureReason : null,
        nextAction: payment.status === 'REQUIRES_ACTION' ? payment.nextAction : null,
      });
      if (stored) return stored;
    }
    await this.record(q, payment, report);
    return this.get(payment.ownerId, payment.id, q);
  }

  /** The subject's payment as the ledger holds it now. */
  get(subject: string, id: string, q?: Queryable): Promise<Payment | null> {
    return this.repository.get(subject, id, q);
  }

  /**
   * The payment as it is now when it changed since `known`, `known` itself otherwise: one statement
   * either way (the row and its history come together).
   */
  async current(subject: string, known: Payment): Promise<Payment> {
    return latest(known, await this.repository.get(subject, known.id));
  }
}

/** `now` when it changed since `known` (a later update), `known` otherwise (unchanged, or gone). */
export function latest(known: Payment, now: Payment | null): Payment {
  return now && now.updatedAt.getTime() > known.updatedAt.getTime() ? now : known;
}

/** Whether a report carries details to write (a failure reason, a next action). */
function refreshes(patch: StatusPatch | undefined): boolean {
  return patch !== undefined && (patch.failureReason !== undefined || patch.nextAction !== undefined);
}
