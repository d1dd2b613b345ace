/**
 * Change notices between replicas: "the consents of subject X changed", so every replica drops what it
 * cached about X. On PostgreSQL they travel as `NOTIFY tributary_changes` on the shared database and
 * each replica LISTENs on a connection of its own; the embedded database has one process, so notices
 * stay in it. A replica always hears its own notices at once, before the database relays them.
 *
 * Notices are hints to drop cached data, never data: losing one costs freshness, not correctness
 * within the cache's maximum age, and when the listening connection drops every subscriber is told
 * to drop everything (`onReset`) until it is back.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { Logger } from 'pino';

/** What subscribers are told. */
export interface ChangeSubscriber {
  /** `key` (e.g. a subject) of `topic` changed. */
  onChange(key: string): void;
  /** Notices may have been missed: drop everything. */
  onReset(): void;
}

export interface ChangeFeed {
  /** Tells every replica, this one first, that `key` of `topic` changed. */
  publish(topic: string, key: string): Promise<void>;
  subscribe(topic: string, subscriber: ChangeSubscriber): void;
  close(): Promise<void>;
}

const CHANNEL = 'tributary_changes';

/** The notices of one process alone (the embedded database, unit tests). */
export function inProcessChangeFeed(): ChangeFeed {
  const topics = new Map<string, ChangeSubscriber[]>();
  return {
    async publish(topic, key) {
      for (const subscriber of topics.get(topic) ?? []) subscriber.onChange(key);
    },
    subscribe(topic, subscriber) {
      topics.set(topic, [...(topics.get(topic) ?? []), subscriber]);
    },
    async close() {
      topics.clear();
    },
  };
}

export interface PgChangeFeedOptions {
  url: string;
  /** Notices are scoped to a schema, so databases shared by test schemas do not cross-talk. */
  scope?: string;
  logger?: Logger;
  /** Delay before reconnecting after the listening connection dropped. Default 1 s. */
  reconnectMs?: number;
}

/** Notices through PostgreSQL LISTEN/NOTIFY, for replicas sharing one database. */
export async function pgChangeFeed(options: PgChangeFeedOptions): Promise<ChangeFeed> {
  const local = inProcessChangeFeed();
  const subscribers = new Map<string, ChangeSubscriber[]>();
  const origin = randomUUID();
  const scope = options.scope ?? '';
  const publisher = new pg.Pool({
    connectionString: options.url,
    max: 1,
    application_name: 'tributary-feed',
  });
  publisher.on('error', () => undefined);
  let listener: pg.Client | null = null;
  let closed = false;

  const resetAll = () => {
    for (const list of subscribers.values()) for (const subscriber of list) subscriber.onReset();
  };
  const connect = async (): Promise<void> => {
    const client = new pg.Client({ connectionString: options.url, application_name: 'tributary-feed' });
    client.on('notification', (message) => {
      if (message.channel !== CHANNEL || !message.payload) return;
      let notice: { origin?: string; scope?: string; topic?: string; key?: string };
      try {
        notice = JSON.parse(message.payload) as typeof notice;
      } catch {
        return;
      }
      // Our own notices were delivered locally when published.
      if (notice.origin === origin || notice.scope !== scope || !notice.topic || !notice.key) return;
      for (const subscriber of subscribers.get(notice.topic) ?? []) subscriber.onChange(notice.key);
    });
    const lost = (error?: Error) => {
      if (closed || listener !== client) return;
      listener = null;
      options.logger?.warn(
        { err: error },
        'Change feed connection lost: dropping cached data until it is back.',
      );
      resetAll();
      setTimeout(() => void reconnect(), options.reconnectMs ?? 1_000).unref();
    };
    client.on('error', lost);
    client.on('end', () => lost());
    await client.connect();
    await client.query(`LISTEN ${CHANNEL}`);
    listener = client;
  };
  const reconnect = async (): Promise<void> => {
    if (closed) return;
    try {
      await connect();
      // Anything published while we were away was not heard.
      resetAll();
    } catch {
      setTimeout(() => void reconnect(), options.reconnectMs ?? 1_000).unref();
    }
  };
  await connect();

  return {
    async publish(topic, key) {
      await local.publish(topic, key);
      await publisher.query('SELECT pg_notify($1, $2)', [
        CHANNEL,
        JSON.stringify({ origin, scope, topic, key }),
      ]);
    },
    subscribe(topic, subscriber) {
      local.subscribe(topic, subscriber);
      subscribers.set(topic, [...(subscribers.get(topic) ?? []), subscriber]);
    },
    async close() {
      closed = true;
      const client = listener;
      listener = null;
      await Promise.allSettled([client?.end(), publisher.end(), local.close()]);
    },
  };
}
