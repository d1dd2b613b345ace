/**
 * Partial results. A list field whose items come from several partners (the subject's accounts at
 * Open Banking and at Plaid) answers with what the healthy partners returned and reports each failed
 * partner as a GraphQL error on the field's own path:
 *
 *   { "data": { "accounts": { "edges": [ ...Plaid accounts... ] } },
 *     "errors": [ { "message": "openbanking did not answer in time.", "path": ["accounts"],
 *                   "extensions": { "code": "PARTNER_TIMEOUT", "partner": "openbanking", ... } } ] }
 *
 * graphql-js cannot return a value and an error from one resolver, so the resolver records the
 * failure here (keyed by the request's context object, so nothing outlives the request) and this
 * plugin appends it to the response, through the same formatError as every other error: same codes,
 * masking and correlation id. Only when every partner fails does the field itself fail.
 */
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import {
  GraphQLError,
  responsePathAsArray,
  type GraphQLFormattedError,
  type GraphQLResolveInfo,
} from 'graphql';

type FormatError = (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
type Failure = { error: Error; path: readonly (string | number)[] };

const failures = new WeakMap<object, Failure[]>();

/** Records that part of the field at `info.path` failed; the rest of its value is still returned. */
export function reportPartialFailure(context: object, info: GraphQLResolveInfo, error: Error): void {
  const path = responsePathAsArray(info.path);
  const list = failures.get(context);
  if (list) list.push({ error, path });
  else failures.set(context, [{ error, path }]);
}

/**
 * Appends recorded partial failures to the response's errors, each told to `report` (logging) with the
 * request's context. List it before the metrics plugin.
 */
export function partialErrorsPlugin(
  formatError: FormatError,
  report: (error: Error, context: object) => void = () => undefined,
): ApolloServerPlugin<BaseContext> {
  return {
    async requestDidStart({ contextValue }) {
      return {
        async willSendResponse({ response }) {
          const recorded = failures.get(contextValue);
          if (!recorded || response.body.kind !== 'single') return;
          const result = response.body.singleResult;
          const formatted = recorded.map(({ error, path }) => {
            report(error, contextValue);
            const graphqlError = new GraphQLError(error.message, { path, originalError: error });
            return formatError(graphqlError.toJSON(), graphqlError);
          });
          response.body.singleResult = { ...result, errors: [...(result.errors ?? []), ...formatted] };
        },
      };
    },
  };
}
