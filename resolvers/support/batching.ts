/**
 * The small helpers the request loaders (loaders.ts) batch with: one load per provider among a batch's
 * keys, reads started ahead of a listing, and failures kept as values.
 */
import type { ProviderName } from '../../domain/model.js';
import type { DecodedId } from '../../domain/ids.js';

/** A read started ahead of the account listing, for the accounts last listed. */
export interface Ahead<T> {
  ids: ReadonlySet<string>;
  result: Promise<T>;
}

/** The started read's result when it was started for every one of `owned`, else null. */
export function covering<T>(ahead: Ahead<T> | undefined, owned: readonly string[]): Promise<T> | null {
  return ahead && owned.every((id) => ahead.ids.has(id)) ? ahead.result : null;
}

/** Runs `load` once per provider present among the keys; a provider's failure is kept as its value. */
export async function loadPerProvider<T>(
  keys: readonly (DecodedId | null)[],
  load: (provider: ProviderName, keys: DecodedId[]) => Promise<T>,
): Promise<Map<ProviderName, T | Error>> {
  const groups = new Map<ProviderName, DecodedId[]>();
  for (const key of keys) {
    if (!key) continue;
    groups.set(key.provider, [...(groups.get(key.provider) ?? []), key]);
  }
  const results = new Map<ProviderName, T | Error>();
  await Promise.all(
    [...groups].map(async ([provider, group]) => {
      results.set(provider, await (async () => load(provider, group))().catch(asError));
    }),
  );
  return results;
}

export function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

export function unique(values: string[]): string[] {
  return [...new Set(values)];
}
