/**
 * Marks replayed idempotent responses: `extensions.idempotency.replayed = true` in the GraphQL body and
 * an `Idempotent-Replayed: true` header (Stripe's name for it), so a client can tell a replay from a
 * fresh execution. Resolvers call `markReplayed(context)`; the plugin reads the mark when responding.
 */
import type { ApolloServerPlugin } from '@apollo/server';

const replayed = new WeakSet<object>();

/** Records that this request's mutation answered from a stored idempotent result. */
export function markReplayed(context: object): void {
  replayed.add(context);
}

/** Whether `markReplayed` was called for this request's context. */
export function wasReplayed(context: object): boolean {
  return replayed.has(context);
}

/** The Apollo plugin; register it once in server/app.ts. */
export function idempotencyPlugin<TContext extends object>(): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ contextValue, response }) {
          if (!replayed.has(contextValue)) return;
          response.http.headers.set('idempotent-replayed', 'true');
          if (response.body.kind !== 'single') return;
          const result = response.body.singleResult;
          result.extensions = { ...result.extensions, idempotency: { replayed: true } };
        },
      };
    },
  };
}
