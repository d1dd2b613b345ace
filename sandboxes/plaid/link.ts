/**
 * Plaid Link, the customer's side of linking an Item:
 *
 *   POST /link/token/create        (Plaid endpoint) opens a Link session for the app: client_name,
 *        language, country_codes, user.client_user_id and products are required; answers link_token
 *        (`link-sandbox-<uuid>`) and its expiration, 4 hours later
 *   POST /__sandbox/link/complete  (sandbox only, no client credentials) stands in for the customer
 *        going through Link: { link_token, username, password?, decision?, institution_id? }.
 *        approve (default) logs in as a seeded customer (password pass_good) and answers
 *        { public_token } for the session's products and webhook; exit answers
 *        { exited: true, status: 'requires_credentials' }. Either spends the link token; an unknown,
 *        spent or expired one answers 400 { error: 'INVALID_LINK_TOKEN' }. Wrong credentials answer
 *        Plaid's INVALID_CREDENTIALS and leave the session open, as Link lets the customer retry.
 */
import { z } from 'zod';
import { json, readJson, type Handler, type Router } from '../kit/sandbox.js';
import { INSTITUTIONS } from './seed-data.js';
import { endpoint, PRODUCTS, type Body } from './routes.js';
import type { PlaidSandboxState } from './state.js';
import { fail, isoDateTime } from './wire.js';

/** Plaid's Link languages. */
const LANGUAGES = [
  'da',
  'nl',
  'en',
  'et',
  'fr',
  'de',
  'hi',
  'it',
  'lv',
  'lt',
  'no',
  'pl',
  'pt',
  'ro',
  'es',
  'sv',
  'vi',
] as const;
const COUNTRY_CODES = [
  'US',
  'GB',
  'ES',
  'NL',
  'FR',
  'IE',
  'CA',
  'DE',
  'IT',
  'PL',
  'DK',
  'NO',
  'SE',
  'EE',
  'LT',
  'LV',
  'PT',
  'BE',
  'AT',
  'FI',
] as const;
/** Plaid: `balance` is not a valid Link product, it comes with any other. */
const LINK_PRODUCTS = PRODUCTS.filter((product) => product !== 'balance');
/** The institution a customer picks in Link when the sandbox is not told otherwise. */
const DEFAULT_INSTITUTION = 'ins_109508';

const linkTokenCreateSchema = z.object({
  client_name: z.string().min(1),
  language: z.enum(LANGUAGES),
  country_codes: z.array(z.enum(COUNTRY_CODES)).min(1),
  user: z.looseObject({ client_user_id: z.string().min(1) }),
  products: z
    .array(z.string())
    .min(1)
    .refine((products) => products.every((product) => LINK_PRODUCTS.includes(product)), {
      message: `must be supported products (${LINK_PRODUCTS.join(', ')})`,
    }),
  webhook: z.url({ protocol: /^https?$/ }).optional(),
  redirect_uri: z.url({ protocol: /^https?$/ }).optional(),
});

const completeSchema = z
  .object({
    link_token: z.string().min(1),
    username: z.string().min(1),
    password: z.string().default('pass_good'),
    decision: z.enum(['approve', 'exit']).default('approve'),
    institution_id: z.string().default(DEFAULT_INSTITUTION),
  })
  .strict();

/** Required fields the request leaves out, as Plaid names them. */
function missingFields(body: Body): string[] {
  const missing = ['client_name', 'language', 'country_codes', 'user', 'products'].filter(
    (key) => body[key] === undefined,
  );
  const user = body.user as Body | undefined;
  if (typeof user === 'object' && user !== null && user.client_user_id === undefined) {
    missing.push('user.client_user_id');
  }
  return missing;
}

function createLinkToken(state: PlaidSandboxState): Handler {
  return endpoint(
    state,
    ['client_name', 'language', 'country_codes', 'user', 'products', 'webhook', 'redirect_uri'],
    (body) => {
      const missing = missingFields(body);
      if (missing.length > 0) {
        fail(
          'INVALID_REQUEST',
          'MISSING_FIELDS',
          `the following required fields are missing: ${missing.join(', ')}`,
        );
      }
      const parsed = linkTokenCreateSchema.safeParse(body);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        fail(
          'INVALID_REQUEST',
          'INVALID_FIELD',
          `${issue?.path.join('.') ?? 'body'}: ${issue?.message ?? 'invalid'}`,
        );
      }
      const { linkToken, expiresAt } = state.createLinkToken({
        clientUserId: parsed.data.user.client_user_id,
        products: parsed.data.products,
        webhook: parsed.data.webhook ?? null,
        redirectUri: parsed.data.redirect_uri ?? null,
      });
      return { link_token: linkToken, expiration: isoDateTime(expiresAt) };
    },
  );
}

function completeLink(state: PlaidSandboxState): Handler {
  return (req) => {
    const parsed = completeSchema.safeParse(readJson(req));
    if (!parsed.success) return json(400, { error: 'invalid control request', issues: parsed.error.issues });
    const body = parsed.data;
    const session = state.linkSession(body.link_token);
    if (!session) {
      return json(400, {
        error: 'INVALID_LINK_TOKEN',
        message: 'the link token is unknown, used or expired',
      });
    }
    if (body.decision === 'exit') {
      state.spendLinkToken(body.link_token);
      return json(200, { exited: true, status: 'requires_credentials' });
    }
    // Plaid errors thrown from here are answered by the server's onError, in Plaid's shape.
    if (!INSTITUTIONS[body.institution_id]) {
      fail('INVALID_INPUT', 'INVALID_INSTITUTION', 'invalid institution_id provided');
    }
    const customer = state.customerFor(body.username);
    if (!customer || body.password !== 'pass_good') {
      fail(
        'ITEM_ERROR',
        'INVALID_CREDENTIALS',
        'the provided credentials were not correct',
        'The provided credentials were not correct. Please try again.',
      );
    }
    state.spendLinkToken(body.link_token);
    const products = [...session.products];
    return json(200, {
      public_token: state.createPublicToken(customer, body.institution_id, products, session.webhook),
    });
  };
}

/** Registers /link/token/create and the sandbox's stand-in for the customer in Link. */
export function registerLinkRoutes(router: Router, state: PlaidSandboxState): void {
  router.on('POST', '/link/token/create', createLinkToken(state));
  router.on('POST', '/__sandbox/link/complete', completeLink(state));
}
