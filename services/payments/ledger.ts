/**
 * The payments ledger as the rest of the process uses it. `applyStatus` is the one entry point for
 * status changes, whoever reports them (our API calls, webhooks, reconciliation, operators): it asks
 * the state machine and writes the move with its history only if the status it decided on still holds,
 * so duplicate and out-of-order reports are harmless and concurrent reporters never both move a payment
 * from the same status.
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
   * read, and one that moves the payment goes straight to the guarded move.
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
   *
   * Without `tx` no lock is taken: the status is read (or taken from `report.seen`), and a move is one
   * compare-and-set statement that writes only if the status is still the one read. When another
   * reporter moved the payment meanwhile, the status is read again and the report decided again;
   * statuses only move forward, so that ends. Partners report a payment's final status again and again
   * (the webhook after a synchronous answer, duplicates, out-of-order deliveries), so the common case is
   * one read that finds nothing to do. `from` and `to` are the status as read.
   */
  async applyStatus(
    paymentId: string,
    status: PaymentStatus,
    report: StatusReport,
    tx?: Queryable,
  ): Promise<StatusChange | null> {
    if (tx) {
      // Inside the caller's transaction (a refund, a recorded payment): the row lock decides.
      const locked = await this.repository.lockForStatus(tx, paymentId);
      if (!locked) return null;
      const change = await this.#move(tx, paymentId, locked.status, status, report);
      if (!change) throw new Error(`payment ${paymentId} changed status while locked`);
      return change;
    }
    let held = report.seen ?? (await this.repository.statusOf(this.db, paymentId));
    for (;;) {
      if (!held) return null;
      const change = await this.#move(this.db, paymentId, held, status, report);
      if (change) return change;
      held = await this.repository.statusOf(this.db, paymentId);
    }
  }

  /**
   * Decides `status` against the status `held` and writes the move, if any, guarded by `held`:
   * the change, or undefined when the payment no longer holds `held` (nothing written). The move is
   * stamped now, after `held` was read, so history entries keep the order their moves happened in.
   */
  async #move(
    q: Queryable,
    paymentId: string,
    held: PaymentStatus,
    status: PaymentStatus,
    report: StatusReport,
  ): Promise<StatusChange | undefined> {
    const path = transitionPath(held, status);
    // A report of the current status may still refresh its details (a new redirect URL).
    const refresh = path.length === 0 && status === held && refreshes(report.patch);
    if (path.length === 0 && !refresh) return { from: held, to: held, changed: false };
    const at = report.at ?? this.now();
    const events: PaymentEvent[] = path.map((step) => ({
      status: step,
      at,
      source: report.source,
      detail: step === status ? (report.detail ?? null) : `implied by ${status}`,
    }));
    const to = path.at(-1) ?? held;
    const moved = await this.repository.moveStatus(q, paymentId, {
      from: held,
      to,
      at,
      ...(report.patch ? { patch: report.patch } : {}),
      events,
    });
    return moved ? { from: held, to, changed: path.length > 0 } : undefined;
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
