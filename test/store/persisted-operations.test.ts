import { createHash } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AuditLog } from '../../store/audit.js';
import type { Db } from '../../store/db.js';
import {
  OperationConflictError,
  PersistedOperationRepository,
  type PersistedOperation,
} from '../../store/persisted-operations.js';
import { testBackends } from '../helpers/db.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const operation = (name: string, body = `query ${name} { consents { id } }`): PersistedOperation => ({
  id: sha256(body),
  name,
  type: 'query',
  body,
});

describe.each(testBackends())('persisted operations on $kind', { timeout: 120_000 }, (backend) => {
  let db: Db;
  let repo: PersistedOperationRepository;
  let audit: AuditLog;
  beforeAll(async () => {
    db = await backend.open();
    repo = new PersistedOperationRepository(db);
    audit = new AuditLog(db, { sealIntervalMs: 0, sealDelayMs: 60_000 });
  });
  beforeEach(async () => {
    await db.query('DELETE FROM persisted_operations');
    await db.query('DELETE FROM audit_pending');
  });
  afterAll(async () => {
    audit.close();
    await db.close();
  });

  it('publishes new operations and counts the ones already published, each once', async () => {
    const a = operation('A');
    const b = operation('B');
    expect(await repo.publish([a, a])).toEqual({ published: [a.id], alreadyPublished: [] });
    expect(await repo.publish([a, b])).toEqual({ published: [b.id], alreadyPublished: [a.id] });
    expect(await repo.publish([b, a])).toEqual({ published: [], alreadyPublished: [b.id, a.id] });
    expect((await repo.list()).map((row) => row.name).sort()).toEqual(['A', 'B']);
  });

  it('reads one operation by id, and null for an id never published', async () => {
    const a = operation('A');
    await repo.publish([a]);
    expect(await repo.get(a.id)).toMatchObject({ ...a, publishedAt: expect.any(Date) });
    expect(await repo.get(sha256('nothing'))).toBeNull();
  });

  it('refuses a whole publish when an id is already published with another body', async () => {
    const a = operation('A');
    await repo.publish([a]);
    const forged = { ...operation('C'), id: a.id };
    const b = operation('B');
    await expect(repo.publish([b, forged])).rejects.toThrow(OperationConflictError);
    // Nothing of the refused call was written: not even the operation that was fine.
    expect(await repo.get(b.id)).toBeNull();
    expect((await repo.get(a.id))?.body).toBe(a.body);
  });

  it('keeps ids to lowercase SHA-256 hex in the table itself', async () => {
    await expect(repo.publish([{ ...operation('A'), id: 'not-a-digest' }])).rejects.toThrow();
    expect(await repo.list()).toEqual([]);
  });

  it('stages an audit entry with the publish when something was new, and none when nothing was', async () => {
    const a = operation('A');
    await repo.publish([a], { log: audit, actor: 'operator:test' });
    await repo.publish([a], { log: audit, actor: 'operator:test' });
    const staged = await db.query<{ actor: string; action: string; payload: string }>(
      'SELECT actor, action, payload FROM audit_pending',
    );
    expect(staged).toHaveLength(1);
    expect(staged[0]).toMatchObject({ actor: 'operator:test', action: 'operations.published' });
    expect(JSON.parse(staged[0]!.payload)).toMatchObject({
      details: { published: [a.id], alreadyPublished: 0 },
    });
    expect(await audit.seal()).toBe(1);
    expect((await audit.verify()).ok).toBe(true);
  });
});
