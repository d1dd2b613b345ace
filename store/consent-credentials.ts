/**
 * How a consent's partner tokens are sealed at rest: JSON under the SecretBox, with the row's id,
 * subject and provider as associated data, so a ciphertext copied onto another row does not open.
 */
import type { SecretBox } from './secrets.js';

/** Partner tokens as handed over at grant time or after a refresh. */
export interface ConsentCredential {
  accessToken: string;
  refreshToken: string | null;
  expiresAt: Date | null;
}

/** The consent row a credential belongs to. */
export interface CredentialOwner {
  id: string;
  subject: string;
  provider: string;
}

interface SealedForm {
  accessToken: string;
  refreshToken: string | null;
  expiresAt: string | null;
}

const aad = (owner: CredentialOwner): string => `consent:${owner.id}:${owner.subject}:${owner.provider}`;

/** Seals the credential for its row under the box's current key. */
export function sealCredential(
  box: SecretBox,
  owner: CredentialOwner,
  credential: ConsentCredential,
): string {
  const form: SealedForm = {
    accessToken: credential.accessToken,
    refreshToken: credential.refreshToken,
    expiresAt: credential.expiresAt?.toISOString() ?? null,
  };
  return box.seal(JSON.stringify(form), aad(owner));
}

/** Opens the credential of a row; throws SecretBoxError when it was altered or moved. */
export function openCredential(box: SecretBox, owner: CredentialOwner, sealed: string): ConsentCredential {
  const form = JSON.parse(box.open(sealed, aad(owner))) as SealedForm;
  return {
    accessToken: form.accessToken,
    refreshToken: form.refreshToken,
    expiresAt: form.expiresAt === null ? null : new Date(form.expiresAt),
  };
}
