/**
 * Relay connections over lists already in their final order. Cursors are opaque (base64url of the
 * node id), so a page boundary survives items being added before it. `first` is 1..100 here as well
 * as in validation, so a resolver can never be asked for more.
 */
import { InputError, NotFoundError } from '../../domain/errors.js';

export const MAX_PAGE_SIZE = 100;

export interface ConnectionArgs {
  first?: number | null;
  after?: string | null;
}

export interface Connection<T> {
  edges: { cursor: string; node: T }[];
  pageInfo: {
    hasNextPage: boolean;
    hasPreviousPage: boolean;
    startCursor: string | null;
    endCursor: string | null;
  };
}

export function cursorOf(id: string): string {
  return Buffer.from(`c:${id}`, 'utf8').toString('base64url');
}

function idFromCursor(cursor: string): string {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!text.startsWith('c:') || cursorOf(text.slice(2)) !== cursor)
    throw new InputError('The cursor is not valid.', 'after');
  return text.slice(2);
}

/** Checks `first` and returns it (default 20). */
export function pageSize(first: number | null | undefined): number {
  const size = first ?? 20;
  if (!Number.isInteger(size) || size < 1 || size > MAX_PAGE_SIZE) {
    throw new InputError(`first must be between 1 and ${MAX_PAGE_SIZE}.`, 'first');
  }
  return size;
}

export function connectionFrom<T extends { id: string }>(
  items: readonly T[],
  args: ConnectionArgs,
): Connection<T> {
  const size = pageSize(args.first);
  let start = 0;
  if (args.after) {
    const afterId = idFromCursor(args.after);
    const index = items.findIndex((item) => item.id === afterId);
    if (index < 0) throw new InputError('The cursor does not belong to this list.', 'after');
    start = index + 1;
  }
  const page = items.slice(start, start + size);
  const edges = page.map((node) => new Edge(node));
  return {
    edges,
    pageInfo: {
      hasNextPage: start + size < items.length,
      hasPreviousPage: start > 0,
      get startCursor() {
        return edges[0]?.cursor ?? null;
      },
      get endCursor() {
        return edges.at(-1)?.cursor ?? null;
      },
    },
  };
}

/** An edge makes its cursor when (and if) the query reads it: most pages are read without them. */
class Edge<T extends { id: string }> {
  #cursor: string | undefined;

  constructor(readonly node: T) {}

  get cursor(): string {
    return (this.#cursor ??= cursorOf(this.node.id));
  }
}

/** A missing object and another customer's object answer the same: NOT_FOUND. */
export async function found<T>(value: Promise<T | null>, what: string): Promise<T> {
  const result = await value;
  if (result === null) throw new NotFoundError(what);
  return result;
}
