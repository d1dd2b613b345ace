import { ApolloServer } from '@apollo/server';
import { describe, expect, it } from 'vitest';
import { idempotencyPlugin, markReplayed, wasReplayed } from '../../../resolvers/support/idempotency.js';

interface Ctx {
  replay: boolean;
}

describe('the idempotency replay plugin', () => {
  const server = new ApolloServer<Ctx>({
    typeDefs: 'type Query { pay: String }',
    resolvers: {
      Query: {
        pay: (_root: unknown, _args: unknown, context: Ctx) => {
          if (context.replay) markReplayed(context);
          return 'ok';
        },
      },
    },
    plugins: [idempotencyPlugin<Ctx>()],
  });

  it('remembers the mark per request context only', () => {
    const marked = {};
    markReplayed(marked);
    expect(wasReplayed(marked)).toBe(true);
    expect(wasReplayed({})).toBe(false);
  });

  it('marks replayed responses in extensions and leaves fresh ones alone', async () => {
    await server.start();
    try {
      const replayed = await server.executeOperation(
        { query: '{ pay }' },
        { contextValue: { replay: true } },
      );
      expect(replayed.body.kind === 'single' && replayed.body.singleResult.extensions).toEqual({
        idempotency: { replayed: true },
      });
      expect(replayed.http.headers.get('idempotent-replayed')).toBe('true');
      const fresh = await server.executeOperation({ query: '{ pay }' }, { contextValue: { replay: false } });
      expect(fresh.body.kind === 'single' && fresh.body.singleResult.extensions).toBeUndefined();
      expect(fresh.http.headers.get('idempotent-replayed')).toBeUndefined();
    } finally {
      await server.stop();
    }
  });
});
