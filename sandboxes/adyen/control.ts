/**
 * Sandbox control routes (JSON, no API key, never counted or faulted), standing in for what happens
 * outside the Checkout API: the Customer Area's webhook settings, the shopper on the 3-D Secure
 * challenge or the issuer's redirect page, and a cardholder disputing a payment.
 *
 *   POST /__sandbox/adyen/webhooks             { url, hmacKey? }  registers an endpoint (hex key)
 *   GET  /__sandbox/adyen/webhooks             waits for deliveries in flight; { delivered, endpoints }
 *   POST /__sandbox/adyen/hmac_key             { hmacKey, url? }  rotates the signing key
 *   GET  /__sandbox/adyen/notifications        the items sent so far, oldest first
 *   POST /__sandbox/adyen/3ds/{psp}            { result: 'pass'|'fail' } -> { details: { threeDSResult } }
 *   GET  /__sandbox/adyen/issuer/{psp}?result= the issuer page: 302 to returnUrl?redirectResult=...
 *   POST /__sandbox/adyen/issuer/{psp}         { result } -> { details: { redirectResult }, location }
 *   POST /__sandbox/adyen/disputes             { pspReference, amount?, reasonCode?, reason?, chargeback? }
 */
import { z } from 'zod';
import { empty, json, readJson, type Reply, type Router, type SandboxRequest } from '../kit/sandbox.js';
import type { ApiContext } from './api.js';
import { shopperResult } from './payments.js';
import { newPspReference, type AdyenPayment } from './state.js';

const hexKey = z.string().regex(/^([0-9A-Fa-f]{2}){16,}$/, 'an HMAC key is hex, at least 16 bytes');
const endpointSchema = z.object({ url: z.url(), hmacKey: hexKey.optional() });
const rotateSchema = z.object({ hmacKey: hexKey, url: z.url().optional() });
const resultSchema = z.object({ result: z.enum(['pass', 'fail']).default('pass') });
const disputeSchema = z.object({
  pspReference: z.string().min(1),
  amount: z.number().int().positive().optional(),
  reasonCode: z.string().min(1).default('10.4'),
  reason: z.string().min(1).default('Other Fraud-Card Absent Environment'),
  /** Also send CHARGEBACK (the funds debited) after NOTIFICATION_OF_CHARGEBACK. Default true. */
  chargeback: z.boolean().default(true),
});

const invalid = (error: z.ZodError): Reply =>
  json(400, { error: error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ') });

/** Registers the /__sandbox/adyen/* control routes listed above. */
export function registerControlRoutes(router: Router, ctx: ApiContext): void {
  const { notifier, state } = ctx;
  router.on('POST', '/__sandbox/adyen/webhooks', (req) => {
    const body = endpointSchema.safeParse(readJson(req));
    if (!body.success) return invalid(body.error);
    notifier.register(body.data.url, body.data.hmacKey);
    return json(200, { url: body.data.url, active: true });
  });
  router.on('GET', '/__sandbox/adyen/webhooks', async () => {
    await notifier.idle();
    return json(200, { delivered: notifier.delivered, endpoints: notifier.endpoints.map((e) => e.url) });
  });
  router.on('POST', '/__sandbox/adyen/hmac_key', (req) => {
    const body = rotateSchema.safeParse(readJson(req));
    if (!body.success) return invalid(body.error);
    if (!notifier.rotate(body.data.hmacKey, body.data.url)) return json(404, { error: 'no such endpoint' });
    return json(200, { rotated: true });
  });
  router.on('GET', '/__sandbox/adyen/notifications', () => json(200, { notifications: notifier.sent }));

  const pending = (
    req: SandboxRequest,
  ): { ok: true; payment: AdyenPayment } | { ok: false; error: Reply } => {
    const payment = state.payment(req.params.psp ?? '');
    if (!payment) return { ok: false, error: json(404, { error: 'no such payment' }) };
    if (payment.status !== 'pending_authentication') {
      return { ok: false, error: json(409, { error: `payment is ${payment.status}` }) };
    }
    return { ok: true, payment };
  };
  router.on('POST', '/__sandbox/adyen/3ds/{psp}', (req) => {
    const found = pending(req);
    if (!found.ok) return found.error;
    const body = resultSchema.safeParse(req.rawBody.length ? readJson(req) : {});
    if (!body.success) return invalid(body.error);
    found.payment.authentication = body.data.result === 'pass' ? 'passed' : 'failed';
    return json(200, {
      details: { threeDSResult: shopperResult(found.payment.pspReference, body.data.result === 'pass') },
    });
  });
  const issuer = (req: SandboxRequest, redirect: boolean): Reply => {
    const found = pending(req);
    if (!found.ok) return found.error;
    const raw = redirect
      ? { result: req.query.get('result') ?? undefined }
      : req.rawBody.length
        ? readJson(req)
        : {};
    const body = resultSchema.safeParse(raw);
    if (!body.success) return invalid(body.error);
    const passed = body.data.result === 'pass';
    found.payment.authentication = passed ? 'passed' : 'failed';
    const redirectResult = shopperResult(found.payment.pspReference, passed);
    const location = new URL(found.payment.returnUrl);
    location.searchParams.set('redirectResult', redirectResult);
    if (redirect) return empty(302, { location: location.toString() });
    return json(200, { details: { redirectResult }, location: location.toString() });
  };
  router.on('GET', '/__sandbox/adyen/issuer/{psp}', (req) => issuer(req, true));
  router.on('POST', '/__sandbox/adyen/issuer/{psp}', (req) => issuer(req, false));

  router.on('POST', '/__sandbox/adyen/disputes', (req) => {
    const body = disputeSchema.safeParse(readJson(req));
    if (!body.success) return invalid(body.error);
    const payment = state.payment(body.data.pspReference);
    if (!payment || payment.captured === 0) return json(409, { error: 'payment has no captured amount' });
    const amount = { value: body.data.amount ?? payment.captured, currency: payment.amount.currency };
    const disputePsp = newPspReference();
    const defenseEnds = new Date(Date.now() + 14 * 86_400_000).toISOString().slice(0, 19) + '+00:00';
    const extra = {
      chargebackReasonCode: body.data.reasonCode,
      chargebackSchemeCode: payment.card.brand,
      defensePeriodEndsAt: defenseEnds,
      defendable: 'true',
      disputeStatus: 'Undefended',
      paymentMethodVariant: payment.card.brand,
    };
    const reason = body.data.reason;
    notifier.dispute(payment, 'NOTIFICATION_OF_CHARGEBACK', disputePsp, amount, reason, extra);
    if (body.data.chargeback) notifier.dispute(payment, 'CHARGEBACK', disputePsp, amount, reason, extra);
    return json(200, { disputePspReference: disputePsp, pspReference: payment.pspReference, amount });
  });
}
