/**
 * The Node interface and `Query.node(id)`: any object this subgraph owns, refetched by its global id,
 * through the same loaders as every other path. Each object carries its `__typename`, so the
 * authorisation guard checks it as the type it is (its scope, its owner): another customer's object is
 * NOT_FOUND, like a missing one.
 */
import { decodeAnyId } from '../domain/ids.js';
import { UnauthenticatedError } from '../domain/errors.js';
import type { NodeResolvers, QueryResolvers } from './__generated__/types.js';
import type { RequestContext } from './context.js';
import { found } from './support/connection.js';
import { paymentLoader } from './Payment.js';

type NodeTypeName = 'Account' | 'Transaction' | 'Payment' | 'Consent';

function typed<T extends object>(
  value: Promise<T>,
  typename: NodeTypeName,
): Promise<T & { __typename: NodeTypeName }> {
  return value.then((object) => ({ ...object, __typename: typename }));
}

function load(context: RequestContext, id: string) {
  const decoded = decodeAnyId(id);
  if (!decoded) return found(Promise.resolve(null), 'Node');
  switch (decoded.kind) {
    case 'Account':
      return typed(found(context.loaders.account.load(id), 'Account'), 'Account');
    case 'Transaction':
      return typed(found(context.loaders.transaction.load(id), 'Transaction'), 'Transaction');
    case 'Payment':
      return typed(found(paymentLoader(context).load(id), 'Payment'), 'Payment');
    case 'Consent': {
      if (!context.principal) throw new UnauthenticatedError();
      const consent = context.services.consents.get(context.principal.subject, decoded.partnerId);
      return typed(found(consent, 'Consent'), 'Consent');
    }
  }
}

export const node: NonNullable<QueryResolvers['node']> = (_root, args, context) => load(context, args.id);

export const Node: NodeResolvers = {
  __resolveType: (object) => (object as unknown as { __typename: NodeTypeName }).__typename,
};
