/** How Plaid sandbox tests read the error the official SDK rejects with. */

/** The Plaid error object the SDK rejected with, and its HTTP status. */
export async function plaidError(
  request: Promise<unknown>,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const error = await request.then(
    () => new Error('expected a Plaid error'),
    (e: unknown) => e,
  );
  const response = (error as { response?: { status: number; data: Record<string, unknown> } }).response;
  if (!response) throw error;
  return { status: response.status, body: response.data };
}
