/**
 * Plaid-specific control routes (never counted, never faulted), next to the kit's own:
 *
 *   POST /__sandbox/plaid/transactions   change a customer's transactions, as the institution would:
 *        { customer, add?: NewTransaction[], modify?: TransactionPatch[], remove?: id[],
 *          post?: [{ transaction_id, amount? }] }   (post = a pending transaction settles); the customer's
 *        Items are then sent SYNC_UPDATES_AVAILABLE (webhooks.ts)
 *   POST /__sandbox/plaid/sync-mutation  { customer?, times? }: the next `times` (default 1) paginated
 *        /transactions/sync continuations fail with TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION
 *   POST /__sandbox/plaid/item-error     { customer, error_code: "ITEM_LOGIN_REQUIRED" | null }
 *   GET  /__sandbox/plaid/calls          what each partner call asked (route, X-Request-Id, sync paging)
 */
import { z } from 'zod';
import { json, readJson, type Handler, type Reply, type Router } from '../kit/sandbox.js';
import type { PlaidSandboxState } from './state.js';
import { addTransaction, modifyTransaction, postTransaction, removeTransaction } from './transactions.js';

const DATE = /^\d{4}-\d{2}-\d{2}$/;

const changesSchema = z
  .object({
    customer: z.string().min(1),
    add: z
      .array(
        z
          .object({
            account_id: z.string().min(1),
            amount: z.number().finite(),
            name: z.string().min(1),
            merchant_name: z.string().nullable().optional(),
            pending: z.boolean().optional(),
            date: z.string().regex(DATE).optional(),
            category: z.string().optional(),
            transaction_id: z.string().min(1).optional(),
          })
          .strict(),
      )
      .default([]),
    modify: z
      .array(
        z
          .object({
            transaction_id: z.string().min(1),
            amount: z.number().finite().optional(),
            name: z.string().min(1).optional(),
            merchant_name: z.string().nullable().optional(),
            date: z.string().regex(DATE).optional(),
          })
          .strict(),
      )
      .default([]),
    remove: z.array(z.string().min(1)).default([]),
    post: z
      .array(z.object({ transaction_id: z.string().min(1), amount: z.number().finite().optional() }).strict())
      .default([]),
  })
  .strict();

const mutationSchema = z
  .object({ customer: z.string().min(1).optional(), times: z.number().int().min(1).default(1) })
  .strict();
const itemErrorSchema = z
  .object({
    customer: z.string().min(1),
    error_code: z
      .string()
      .regex(/^[A-Z_]+$/)
      .nullable(),
  })
  .strict();

/** Runs a control handler: bad input and unknown ids answer 400 with a plain message. */
function control(fn: (body: unknown) => Reply): Handler {
  return (req) => {
    try {
      return fn(req.rawBody.length === 0 ? {} : readJson(req));
    } catch (error) {
      if (error instanceof z.ZodError)
        return json(400, { error: 'invalid control request', issues: error.issues });
      return json(400, { error: error instanceof Error ? error.message : String(error) });
    }
  };
}

/** Registers the control routes on the router. */
export function registerControlRoutes(
  router: Router,
  state: PlaidSandboxState,
  onTransactionsChanged: (customer: string) => void,
): void {
  router.on(
    'POST',
    '/__sandbox/plaid/transactions',
    control((raw) => {
      const body = changesSchema.parse(raw);
      const book = state.books.get(body.customer);
      if (!book) throw new Error(`no seeded customer ${body.customer}`);
      const now = state.now();
      const before = book.seq;
      try {
        const added = body.add.map((input) => addTransaction(book, input, now).transaction_id);
        const modified = body.modify.map((patch) => modifyTransaction(book, patch).transaction_id);
        for (const id of body.remove) removeTransaction(book, id);
        const posted = body.post.map(({ transaction_id, amount }) => ({
          pending: transaction_id,
          posted: postTransaction(book, transaction_id, now, amount).transaction_id,
        }));
        return json(200, { added, modified, removed: body.remove, posted });
      } finally {
        // Changes made before a bad entry stay made (as before), so they are announced too.
        if (book.seq !== before) onTransactionsChanged(body.customer);
      }
    }),
  );

  router.on(
    'POST',
    '/__sandbox/plaid/sync-mutation',
    control((raw) => {
      const body = mutationSchema.parse(raw);
      const books = body.customer ? [state.books.get(body.customer)] : [...state.books.values()];
      if (books.some((book) => book === undefined)) throw new Error(`no seeded customer ${body.customer}`);
      for (const book of books) if (book) book.mutationsArmed = body.times;
      return json(200, { armed: body.times });
    }),
  );

  router.on(
    'POST',
    '/__sandbox/plaid/item-error',
    control((raw) => {
      const body = itemErrorSchema.parse(raw);
      const book = state.books.get(body.customer);
      if (!book) throw new Error(`no seeded customer ${body.customer}`);
      book.itemError = body.error_code;
      return json(200, { customer: body.customer, error_code: body.error_code });
    }),
  );

  router.on(
    'GET',
    '/__sandbox/plaid/calls',
    control(() => json(200, { calls: state.calls })),
  );
}
