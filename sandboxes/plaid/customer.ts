/**
 * The customer's side of Plaid Link for tests and development: what a person does in Link, reduced to
 * one call to the sandbox's POST /__sandbox/link/complete (link.ts). The app then exchanges the public
 * token as it would the one Link's onSuccess hands it.
 */

/** Goes through Link for `linkToken` as the seeded customer `username` (password pass_good). */
export async function customerCompletesLink(
  baseUrl: string,
  linkToken: string,
  username: string,
  decision: 'approve' | 'exit' = 'approve',
): Promise<{ publicToken: string } | { exited: true }> {
  const response = await fetch(new URL('/__sandbox/link/complete', baseUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ link_token: linkToken, username, decision }),
    signal: AbortSignal.timeout(10_000),
  });
  const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  if (response.status === 200 && decision === 'exit' && body.exited === true) return { exited: true };
  if (response.status === 200 && typeof body.public_token === 'string') {
    return { publicToken: body.public_token };
  }
  throw new SandboxLinkError(response.status, String(body.error_code ?? body.error ?? ''), username);
}

/** Link did not end as asked: an unknown, used or expired link token, or credentials the bank refused. */
export class SandboxLinkError extends Error {
  override name = 'SandboxLinkError';
  constructor(
    readonly status: number,
    /** INVALID_LINK_TOKEN, INVALID_CREDENTIALS, ... */
    readonly code: string,
    username: string,
  ) {
    super(`sandbox Link did not complete for ${username}: ${status} ${code}`);
  }
}
