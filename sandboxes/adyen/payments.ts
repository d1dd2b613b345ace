/**
 * POST /payments and POST /payments/details (Checkout API v71). A card payment is decided by its test
 * card (cards.ts): Authorised or Refused at once, or ChallengeShopper / RedirectShopper with an
 * `action` when the card enrols in 3-D Secure; the shopper's part is played through the control routes
 * (control.ts), whose answer is the `details` to send to /payments/details. Every final outcome sends
 * an AUTHORISATION notification. Auto capture is the default, as at Adyen for cards: an authorised
 * payment counts as captured at once and no CAPTURE notification follows (Adyen sends none for auto
 * capture); `additionalData.manualCapture: 'true'` or the sandbox option `autoCapture: false` keeps it
 * authorised until POST /payments/{pspReference}/captures.
 */
import { randomBytes } from 'node:crypto';
import type { Router } from '../kit/sandbox.js';
import { optionalString, readAmount, route, type ApiContext } from './api.js';
import { readCard, refusalOf, REFUSALS } from './cards.js';
import { validation } from './errors.js';
import { authCode, newPspReference, type AdyenPayment } from './state.js';

/** Registers /payments and /payments/details under every served version. */
export function registerPaymentRoutes(router: Router, ctx: ApiContext): void {
  route(router, ctx, '/payments', ({ body, idempotencyKey, origin }) => {
    const amount = readAmount(body.amount, true);
    const reference = optionalString(body, 'reference');
    if (!reference) throw validation('130', "Required field 'reference' is not provided.");
    const returnUrl = optionalString(body, 'returnUrl');
    if (!returnUrl) throw validation('14_030', 'Return URL is missing.');
    const method = body.paymentMethod;
    if (typeof method !== 'object' || method === null) {
      throw validation('702', "Required field 'paymentMethod' is not provided.");
    }
    const pspReference = newPspReference();
    const reading = readCard(method as Record<string, unknown>);
    if (!reading.ok) throw validation(reading.errorCode, reading.message, pspReference);
    const additional = (body.additionalData ?? {}) as Record<string, unknown>;
    const payment: AdyenPayment = {
      pspReference,
      merchantAccount: ctx.merchantAccount,
      merchantReference: reference,
      amount: amount ?? { value: 0, currency: 'EUR' },
      card: reading.card,
      expiry: reading.expiry,
      holderName: reading.holderName,
      resultCode: 'Authorised',
      status: 'pending_authentication',
      refusal: null,
      manualCapture: additional.manualCapture === 'true' || !ctx.autoCapture,
      captured: 0,
      refunded: 0,
      idempotencyKey,
      shopperReference: optionalString(body, 'shopperReference') ?? null,
      returnUrl,
      paymentData: null,
      authentication: null,
      modifications: [],
      createdAt: new Date().toISOString(),
    };
    ctx.state.payments.set(pspReference, payment);
    ctx.ledger.recordPayment(payment);
    if (reading.card.flow === 'authorise') {
      decide(ctx, payment, true);
      return { status: 200, body: answer(payment) };
    }
    payment.paymentData = `Ab02b4c0!${randomBytes(24).toString('base64url')}`;
    ctx.state.byPaymentData.set(payment.paymentData, pspReference);
    if (reading.card.flow === 'challenge') {
      payment.resultCode = 'ChallengeShopper';
      return { status: 200, body: { ...reference3ds(payment), action: threeDS2Action(payment, origin) } };
    }
    payment.resultCode = 'RedirectShopper';
    const action = {
      type: 'redirect',
      method: 'GET',
      paymentMethodType: 'scheme',
      url: `${origin}/__sandbox/adyen/issuer/${pspReference}`,
    };
    return { status: 200, body: { ...reference3ds(payment), action } };
  });

  route(
    router,
    ctx,
    '/payments/details',
    ({ body }) => {
      const details = body.details;
      if (typeof details !== 'object' || details === null) {
        throw validation('702', "Required field 'details' is not provided.");
      }
      const { threeDSResult, redirectResult } = details as Record<string, unknown>;
      const token = typeof threeDSResult === 'string' ? threeDSResult : redirectResult;
      const result = typeof token === 'string' ? readShopperResult(token) : null;
      const payment = result ? ctx.state.payment(result.pspReference) : undefined;
      if (!result || !payment) throw validation('14_018', 'Invalid payload provided');
      // paymentData, when sent (older integrations do), must be the one the action carried.
      const owner =
        typeof body.paymentData === 'string' ? ctx.state.byPaymentData.get(body.paymentData) : undefined;
      if (owner !== undefined && owner !== payment.pspReference)
        throw validation('14_018', 'Invalid payload provided');
      // A second call with the same result answers the outcome already decided.
      if (payment.status === 'pending_authentication') decide(ctx, payment, result.passed);
      return { status: 200, body: answer(payment) };
    },
    { merchantAccount: false },
  );
}

/** What the shopper's part produced, carried in threeDSResult / redirectResult (opaque to clients). */
export function shopperResult(pspReference: string, passed: boolean): string {
  const payload = {
    psp: pspReference,
    transStatus: passed ? 'Y' : 'N',
    nonce: randomBytes(6).toString('hex'),
  };
  return Buffer.from(JSON.stringify(payload)).toString('base64');
}

function readShopperResult(token: string): { pspReference: string; passed: boolean } | null {
  try {
    const payload = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as Record<string, unknown>;
    if (typeof payload.psp !== 'string') return null;
    return { pspReference: payload.psp, passed: payload.transStatus === 'Y' };
  } catch {
    return null;
  }
}

/** Settles an authorisation (after 3-D Secure when `authenticated` is known) and notifies it. */
export function decide(ctx: ApiContext, payment: AdyenPayment, authenticated: boolean): void {
  if (payment.paymentData) ctx.state.byPaymentData.delete(payment.paymentData);
  const refusal = authenticated ? refusalOf(payment.holderName) : REFUSALS.NOT_3D_AUTHENTICATED;
  if (payment.holderName?.trim().toUpperCase() === 'ERROR' && authenticated) {
    payment.resultCode = 'Error';
    payment.status = 'error';
    payment.refusal = REFUSALS.ACQUIRER_ERROR;
  } else if (refusal) {
    payment.resultCode = 'Refused';
    payment.status = 'refused';
    payment.refusal = refusal;
  } else {
    payment.resultCode = 'Authorised';
    payment.status = payment.manualCapture ? 'authorised' : 'captured';
    payment.captured = payment.manualCapture ? 0 : payment.amount.value;
  }
  ctx.notifier.authorisation(payment);
}

/** The final PaymentResponse of a decided payment. */
export function answer(payment: AdyenPayment): Record<string, unknown> {
  const base = {
    pspReference: payment.pspReference,
    resultCode: payment.resultCode,
    merchantReference: payment.merchantReference,
    amount: { ...payment.amount },
  };
  const last4 = payment.card.number.slice(-4);
  if (payment.resultCode === 'Authorised') {
    return {
      ...base,
      additionalData: {
        authCode: authCode(payment.pspReference),
        cardSummary: last4,
        expiryDate: payment.expiry,
        paymentMethod: payment.card.brand,
        paymentMethodVariant: payment.card.brand,
        refusalReasonRaw: 'AUTHORISED',
        ...(payment.shopperReference ? { 'recurring.shopperReference': payment.shopperReference } : {}),
      },
      paymentMethod: { brand: payment.card.brand, type: 'scheme' },
    };
  }
  return {
    ...base,
    refusalReason: payment.refusal?.reason ?? 'Refused',
    refusalReasonCode: payment.refusal?.code ?? '2',
    additionalData: { refusalReasonRaw: (payment.refusal?.reason ?? 'Refused').toUpperCase() },
  };
}

function reference3ds(payment: AdyenPayment) {
  return {
    resultCode: payment.resultCode,
    pspReference: payment.pspReference,
    merchantReference: payment.merchantReference,
  };
}

function threeDS2Action(payment: AdyenPayment, origin: string) {
  const token = {
    acsTransID: randomBytes(16).toString('hex'),
    acsURL: `${origin}/__sandbox/adyen/3ds/${payment.pspReference}`,
    messageVersion: '2.2.0',
    threeDSServerTransID: randomBytes(16).toString('hex'),
  };
  return {
    type: 'threeDS2',
    subtype: 'challenge',
    paymentMethodType: 'scheme',
    paymentData: payment.paymentData,
    authorisationToken: `Ab02b4c0!${randomBytes(16).toString('base64url')}`,
    token: Buffer.from(JSON.stringify(token)).toString('base64'),
  };
}
