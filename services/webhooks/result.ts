/** What handling one inbox event came to (handler.ts and items.ts both answer it). */
import type { AuditEntry } from '../../store/audit.js';

export interface HandleResult {
  outcome: 'processed' | 'ignored';
  detail: string;
  /**
   * What to record for it. The worker appends it in the transaction that marks the event finished, so
   * a retry after a crash between the effect and that mark never records the event twice.
   */
  audit?: AuditEntry;
}
