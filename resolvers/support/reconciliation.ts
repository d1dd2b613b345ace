/**
 * Reconciliation runs as the graph shows them: the stored run with its discrepancy kinds in the
 * schema's spelling. `reconcilePayments` runs through the same service as `tributary reconcile`.
 */
import type { RequestContext } from '../context.js';
import type { ReconciliationRun as StoredRun } from '../../services/payments/index.js';
import type {
  MutationReconcilePaymentsArgs,
  ReconcilePaymentsPayload,
  ReconciliationDiscrepancyKind,
  ReconciliationRun,
} from '../__generated__/types.js';
import { UnauthenticatedError } from '../../domain/errors.js';

export function toReconciliationRun(run: StoredRun): ReconciliationRun {
  return {
    id: run.id,
    actor: run.actor,
    // Runs name partners of the module list only, whose names the SDL enum lists.
    providers: run.providers as ReconciliationRun['providers'],
    apply: run.apply,
    startedAt: run.startedAt,
    finishedAt: run.finishedAt,
    checked: run.checked,
    matched: run.matched,
    discrepancies: run.discrepancies.map((discrepancy) => ({
      ...discrepancy,
      provider: discrepancy.provider as ReconciliationRun['providers'][number] | null,
      kind: discrepancy.kind.toUpperCase() as ReconciliationDiscrepancyKind,
    })),
  };
}

export async function latestReconciliation(context: RequestContext): Promise<ReconciliationRun | null> {
  const [run] = await context.services.payments.reconciliations(1);
  return run ? toReconciliationRun(run) : null;
}

export async function reconcilePayments(
  context: RequestContext,
  args: MutationReconcilePaymentsArgs,
): Promise<ReconcilePaymentsPayload> {
  if (!context.principal) throw new UnauthenticatedError();
  const reachable = context.services.payments.payingPartners();
  if (args.provider && !reachable.includes(args.provider)) {
    return {
      run: null,
      userErrors: [
        {
          code: 'NOT_SUPPORTED',
          message: `${args.provider} is not a payments partner reachable from this deployment.`,
          field: ['provider'],
        },
      ],
    };
  }
  const report = await context.services.payments.reconcile(
    { providers: args.provider ? [args.provider] : reachable, apply: args.apply === true },
    `operator:${context.principal.subject}`,
  );
  return { run: toReconciliationRun(report.run), userErrors: [] };
}
