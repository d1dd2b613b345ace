/**
 * The recovery-point skeleton every money-moving operation follows (DESIGN §10), written once:
 *
 *   started            `begin` may end the operation with a stored business outcome; otherwise
 *                      `partner_requested` is committed (with the operation's plan) before the partner
 *                      can have seen the derived partner key.
 *   partner_requested  the partner may or may not have acted, and only it knows: `ask` it when the
 *                      operation can, else `send` again with the same partner key; never a fresh key.
 *   partner_confirmed  `confirm` checked the answer and it is stored, so a retry does not call the
 *                      partner again but `resume`s from the stored answer.
 *   finished           `record` writes the ledger, the audit entry is appended and the key finished,
 *                      in one transaction; `payload` is what this and every replay return.
 *
 * A partner's refusal is a business outcome too (a user error, stored); any other failure leaves the
 * key retryable at the point reached (runner.ts).
 */
import type { Payment, ProviderName, Refund } from '../../domain/model.js';
import { formatDecimal } from '../../domain/money.js';
import type { CallContext } from '../../domain/providers.js';
import type { Queryable } from '../../store/db.js';
import type { Json } from '../../store/idempotency.js';
import { checkSamePayment } from './checks.js';
import {
  assertPartnerStillDedupes,
  callPartner,
  outcomeEntry,
  withPartnerState,
  type FlowDeps,
} from './context.js';
import { derivePartnerKey, fingerprintOf, type IdempotentMutation } from './keys.js';
import { refusalOf, type PaymentUserError, type RefusalCodes } from './outcomes.js';
import { loadPayment, storePayment, type PaymentPayload, type PaymentResult } from './payload.js';
import type { Attempt } from './runner.js';

/** One partner request, run under the partner-call deadline (callPartner). */
export interface PartnerRequest<A extends unknown[], T> {
  /** Names the request in errors and logs, e.g. 'createPayment'. */
  endpoint: string;
  request: (ctx: CallContext, ...args: A) => Promise<T>;
}

/** What `begin` decided: finish now with these user errors (none: nothing left to do), or go on. */
export type Verdict<P> = { finish: PaymentUserError[] } | { finish?: never; plan?: P };

/** The answer `confirm` accepted, and what `partner_confirmed` stores so a retry can resume it. */
export interface Confirmed<R> {
  result: R;
  recovery: Json;
  /** The payment the key leads to, when only the partner's answer names it. */
  paymentId?: string;
}

/**
 * The steps of one money-moving operation. `R` is the partner's confirmed result that the ledger
 * records; `P` is the plan `begin` fixes once and every later attempt reuses.
 * Validation is the caller's, before moveMoney: its failures are errors and are never stored.
 */
export interface MoneyMovement<R, P = undefined> {
  mutation: IdempotentMutation;
  /** The client's idempotency key, already checked. */
  key: string;
  /** The normalised arguments; two requests with one key are the same operation when these are equal. */
  args: unknown;
  partner: ProviderName;
  /** The payment acted on, when it exists before the operation: stored with `partner_requested`. */
  paymentId?: string;
  /** How the partner's refusals read as user errors. */
  refusals: RefusalCodes;
  /** At `started`, the ledger's verdict: a business "no" ends the operation before the partner is asked. */
  begin?: () => Promise<Verdict<P>>;
  /** Resuming at `partner_requested`: the partner's record when it already did what was asked, else null. */
  ask?: PartnerRequest<[], Payment | null>;
  /** The request itself, with the partner key derived from the client's key. */
  send: PartnerRequest<[partnerKey: string, plan: P], Payment>;
  /** After a refusal: the partner's record of the payment, to keep in the ledger, if it has one. */
  refused?: (error: unknown, plan: P) => Promise<R | null>;
  /** The partner a plan sends to, when the plan chooses it (a routed card payment); default `partner`. */
  partnerOf?: (plan: P) => ProviderName;
  /**
   * After a failed send: the plan that sends to another partner when the error proves this one cannot
   * have acted (routing's failover), else null. The new plan is committed before it is sent.
   */
  failover?: (error: unknown, plan: P) => P | null;
  /** Checks the partner's answer against what was asked (throws when it broke its contract). */
  confirm: (answer: Payment, plan: P) => Confirmed<R>;
  /** The result stored at `partner_confirmed`, or null when the stored data is incomplete. */
  resume: (recovery: Json) => R | null;
  /** The business outcome of a confirmed result (a declined payment). */
  outcome?: (result: R) => PaymentUserError[];
  /** Writes the result (null: nothing to record) to the ledger and returns the ledger's payment after. */
  record: (tx: Queryable, result: R | null) => Promise<Payment | null>;
  /** The mutation's payload from the ledger's payment. */
  payload: (payment: Payment | null, result: R | null, userErrors: PaymentUserError[]) => PaymentPayload;
}

/**
 * The steps shared by operations on a payment the ledger already holds (confirm, cancel): the partner's
 * answer must be the same payment; its state is recorded over the ledger's; the payload is the payment
 * after the operation, or null when a user error stopped it.
 */
export function onExistingPayment(
  deps: FlowDeps,
  call: CallContext,
  current: Payment,
  mutation: IdempotentMutation,
): Pick<MoneyMovement<Payment>, 'confirm' | 'resume' | 'record' | 'payload'> {
  return {
    confirm: (answer) => {
      checkSamePayment(current, answer, mutation);
      return { result: answer, recovery: storePayment(answer) };
    },
    resume: loadPayment,
    record: async (tx, answer) => {
      if (answer)
        await deps.ledger.record(tx, withPartnerState(current, answer), { source: 'API', detail: mutation });
      return deps.ledger.get(call.subject, current.id, tx);
    },
    payload: (payment, _answer, userErrors) => ({
      payment: userErrors.length > 0 ? null : payment,
      refund: null,
      userErrors,
    }),
  };
}

/** Runs `movement` exactly once per (subject, mutation, key), resuming at the key's recovery point. */
export function moveMoney<R, P = undefined>(
  deps: FlowDeps,
  call: CallContext,
  movement: MoneyMovement<R, P>,
): Promise<PaymentResult> {
  const { mutation, key } = movement;
  const op = {
    subject: call.subject,
    mutation,
    key,
    fingerprint: fingerprintOf(mutation, movement.args),
    partnerKey: derivePartnerKey(deps.partnerKeySecret, call.subject, mutation, key),
  };
  return deps.runner.run(op, async (attempt) => {
    const finish = (result: R | null, userErrors: PaymentUserError[]) =>
      finishMovement(deps, call, movement, attempt, result, userErrors);
    const done = (result: R) => finish(result, movement.outcome?.(result) ?? []);

    const stored = attempt.point === 'partner_confirmed' ? movement.resume(attempt.record.recovery) : null;
    if (stored !== null) return done(stored);

    let plan = attempt.record.recovery as unknown as P;
    if (attempt.point === 'started') {
      const verdict: Verdict<P> = movement.begin ? await movement.begin() : {};
      if (verdict.finish) return finish(null, verdict.finish);
      plan = verdict.plan as P;
      await attempt.advance('partner_requested', {
        recovery: verdict.plan as Json | undefined,
        paymentId: movement.paymentId,
      });
    }

    // Without a way to ask, resending is the only way to learn the outcome: refuse that up front.
    if (!movement.ask) assertPartnerStillDedupes(attempt, partnerOf(movement, plan), deps);
    await attempt.checkpoint('partner_requested');
    let answer: Payment;
    // A resumed attempt cannot know whether an earlier one reached the plan's partner (it may have
    // crashed after sending): it stays with that partner. Only a send this attempt made may fail over.
    const mayFailOver = attempt.point !== 'partner_requested';
    for (;;) {
      try {
        answer = await askOrSend(deps, call, movement, attempt, plan);
        break;
      } catch (error) {
        const next = mayFailOver ? (movement.failover?.(error, plan) ?? null) : null;
        if (next !== null) {
          // Committed first: a crash from here on resumes at the next partner, never the one that failed.
          await attempt.advance('partner_requested', { recovery: next as Json });
          plan = next;
          continue;
        }
        const refusal = refusalOf(error, movement.refusals);
        if (!refusal) throw error;
        return finish((await movement.refused?.(error, plan)) ?? null, [refusal]);
      }
    }
    await attempt.checkpoint('partner_called');

    const confirmed = movement.confirm(answer, plan);
    await attempt.advance('partner_confirmed', {
      recovery: confirmed.recovery,
      paymentId: confirmed.paymentId,
    });
    await attempt.checkpoint('partner_confirmed');
    return done(confirmed.result);
  });
}

/** Resuming at `partner_requested`, asks before resending; a fresh attempt sends at once. */
async function askOrSend<R, P>(
  deps: FlowDeps,
  call: CallContext,
  movement: MoneyMovement<R, P>,
  attempt: Attempt,
  plan: P,
): Promise<Payment> {
  const { ask, send } = movement;
  const partner = partnerOf(movement, plan);
  if (ask && attempt.point === 'partner_requested') {
    const known = await callPartner(call, deps, partner, ask.endpoint, (ctx) => ask.request(ctx));
    if (known) return known;
    assertPartnerStillDedupes(attempt, partner, deps);
  }
  return callPartner(call, deps, partner, send.endpoint, (ctx) =>
    send.request(ctx, attempt.partnerKey, plan),
  );
}

function partnerOf<R, P>(movement: MoneyMovement<R, P>, plan: P): ProviderName {
  return movement.partnerOf ? movement.partnerOf(plan) : movement.partner;
}

/** Records the outcome and finishes the key with its audit entry, all in one transaction. */
function finishMovement<R, P>(
  deps: FlowDeps,
  call: CallContext,
  movement: MoneyMovement<R, P>,
  attempt: Attempt,
  result: R | null,
  userErrors: PaymentUserError[],
): Promise<PaymentPayload> {
  return attempt
    .finish(async (tx) => {
      const payment = await movement.record(tx, result);
      const payload = movement.payload(payment, result, userErrors);
      const audit = outcomeEntry({
        mutation: movement.mutation,
        subject: call.subject,
        key: movement.key,
        payment,
        userErrors,
        detail: refundDetail(payload.refund),
      });
      return { payload, paymentId: movement.paymentId ?? payment?.id ?? null, audit };
    })
    .finally(() => deps.audit.sealSoon());
}

function refundDetail(refund: Refund | null): Record<string, unknown> {
  return refund ? { refundId: refund.id, refundAmount: formatDecimal(refund.amount) } : {};
}
