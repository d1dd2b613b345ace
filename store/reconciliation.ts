/**
 * Reconciliation runs (table `reconciliation_runs`, migration 070): each run's counts and discrepancies,
 * newest first. Written by the payments service after every run, read by the graph, the ops views and
 * the reconciliation gauges.
 */
import { randomUUID } from 'node:crypto';
import type { ProviderName } from '../domain/model.js';
import type { Db } from './db.js';

const RETENTION_DAYS = 90;

/** One discrepancy as stored: what the report said, without the customer's subject. */
export interface StoredDiscrepancy {
  kind: string;
  provider: ProviderName | null;
  paymentId: string | null;
  ours: string | null;
  partner: string | null;
  applied: boolean;
  detail: string;
}

export interface ReconciliationRun {
  id: string;
  actor: string;
  providers: ProviderName[];
  apply: boolean;
  startedAt: Date;
  finishedAt: Date;
  checked: number;
  matched: number;
  discrepancies: StoredDiscrepancy[];
}

export type NewReconciliationRun = Omit<ReconciliationRun, 'id'>;

interface Row {
  id: string;
  actor: string;
  providers: ProviderName[];
  apply: boolean;
  started_at: Date;
  finished_at: Date;
  checked: number;
  matched: number;
  discrepancies: StoredDiscrepancy[];
}

const toRun = (row: Row): ReconciliationRun => ({
  id: row.id,
  actor: row.actor,
  providers: row.providers,
  apply: row.apply,
  startedAt: new Date(row.started_at),
  finishedAt: new Date(row.finished_at),
  checked: row.checked,
  matched: row.matched,
  discrepancies: row.discrepancies,
});

export class ReconciliationRepository {
  constructor(private readonly db: Db) {}

  /** Records a finished run and prunes runs past the retention window. */
  async record(run: NewReconciliationRun): Promise<ReconciliationRun> {
    const id = randomUUID();
    await this.db.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO reconciliation_runs
           (id, actor, providers, apply, started_at, finished_at, checked, matched, discrepancies)
         VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7, $8, $9::jsonb)`,
        [
          id,
          run.actor,
          JSON.stringify(run.providers),
          run.apply,
          run.startedAt,
          run.finishedAt,
          run.checked,
          run.matched,
          JSON.stringify(run.discrepancies),
        ],
      );
      await tx.query(
        `DELETE FROM reconciliation_runs WHERE finished_at < $1::timestamptz - make_interval(days => $2)`,
        [run.finishedAt, RETENTION_DAYS],
      );
    });
    return { id, ...run };
  }

  /** The most recent runs, newest first. */
  async latest(limit = 1): Promise<ReconciliationRun[]> {
    const rows = await this.db.query<Row>(
      `SELECT id, actor, providers, apply, started_at, finished_at, checked, matched, discrepancies
       FROM reconciliation_runs ORDER BY finished_at DESC, id DESC LIMIT $1`,
      [limit],
    );
    return rows.map(toRun);
  }
}
