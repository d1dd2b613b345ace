/**
 * The customer's side of the sandbox: approving a consent at the bank. Real banks do this in their
 * own app or web journey (redirect with PKCE); the sandbox reduces it to one call that returns the
 * authorisation code the redirect would have carried.
 */

/** Approves a consent as the given PSU and returns the authorisation code. */
export async function authoriseInSandbox(baseUrl: string, consentId: string, psuId: string): Promise<string> {
  const response = await fetch(new URL('/__sandbox/authorise', baseUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ConsentId: consentId, psuId }),
    signal: AbortSignal.timeout(10_000),
  });
  const body = (await response.json().catch(() => ({}))) as { code?: unknown; error?: unknown };
  if (!response.ok || typeof body.code !== 'string') {
    throw new Error(
      `sandbox refused to authorise consent for ${psuId}: ${response.status} ${String(body.error ?? '')}`,
    );
  }
  return body.code;
}
