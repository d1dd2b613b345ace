import { describe, expect, it } from 'vitest';
import { connectionFrom, cursorOf } from '../../../resolvers/support/connection.js';

/** Items whose `id` reads are counted: a cursor is the only thing made from an id. */
function counted(ids: string[]) {
  const reads = { count: 0 };
  const items = ids.map((id) => ({
    get id() {
      reads.count++;
      return id;
    },
  }));
  return { reads, items };
}

describe('connections', () => {
  it('pages in order with opaque cursors, and continues after a cursor', () => {
    const items = ['a', 'b', 'c'].map((id) => ({ id }));
    const first = connectionFrom(items, { first: 2 });
    expect(first.edges.map((edge) => edge.node.id)).toEqual(['a', 'b']);
    expect(first.edges[1]!.cursor).toBe(cursorOf('b'));
    expect(first.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
    expect(first.pageInfo.endCursor).toBe(cursorOf('b'));
    const next = connectionFrom(items, { first: 2, after: first.pageInfo.endCursor });
    expect(next.edges.map((edge) => edge.node.id)).toEqual(['c']);
    expect(next.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: true });
    expect(next.pageInfo.startCursor).toBe(cursorOf('c'));
    expect(() => connectionFrom(items, { after: 'bm90LWEtY3Vyc29y' })).toThrow('The cursor is not valid.');
    expect(() => connectionFrom(items, { after: cursorOf('z') })).toThrow('does not belong');
  });

  it('makes a cursor only when it is read, and once', () => {
    const { reads, items } = counted(['a', 'b', 'c']);
    const page = connectionFrom(items, { first: 3 });
    expect(page.edges).toHaveLength(3);
    expect(page.pageInfo.hasNextPage).toBe(false);
    expect(reads.count).toBe(0);
    expect(page.pageInfo.endCursor).toBe(cursorOf('c'));
    expect(page.edges[2]!.cursor).toBe(cursorOf('c'));
    expect(reads.count).toBe(1);
  });
});
