import { decodeId, encodeId } from '../domain/ids.js';
import type { ConsentResolvers } from './__generated__/types.js';
import { found } from './support/connection.js';

export const Consent: ConsentResolvers = {
  __resolveReference: async (reference, context) => {
    const decoded = decodeId(reference.id, 'Consent');
    const consent =
      decoded && context.principal
        ? context.services.consents.get(context.principal.subject, decoded.partnerId)
        : null;
    return found(Promise.resolve(consent), 'Consent');
  },
  id: (consent) => encodeId('Consent', consent.provider, consent.id),
};
