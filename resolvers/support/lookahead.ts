/**
 * What an operation will read under the accounts it lists, read from the operation before the listing
 * runs: whether it selects the accounts' balances, and the windows it asks their transactions in.
 * The listing hands this to Loaders.prefetch, so those partner reads start together with the listing
 * instead of after it: no waterfall, a live dashboard is one round of partner calls. Named and inline
 * fragments are followed; a field a `@skip`/`@include` turns off is not counted. Reading more than the
 * operation will use only costs a partner read; reading less only gives up the head start.
 */
import {
  getArgumentValues,
  getDirectiveValues,
  GraphQLIncludeDirective,
  GraphQLSkipDirective,
  isObjectType,
  Kind,
  type FieldNode,
  type GraphQLResolveInfo,
  type SelectionSetNode,
} from 'graphql';
import type { AccountReads, TransactionWindow } from '../loaders.js';
import type { TransactionFilter } from '../__generated__/types.js';

/** The reads below the account objects found at `path` under the resolving field (e.g. edges.node). */
export function accountReads(info: GraphQLResolveInfo, path: readonly string[]): AccountReads {
  let level: readonly FieldNode[] = info.fieldNodes;
  for (const name of path) level = childFields(info, level, name);
  const account = info.schema.getType('Account');
  const transactionsField = isObjectType(account) ? account.getFields().transactions : undefined;
  const transactionWindows: TransactionWindow[] = [];
  for (const node of childFields(info, level, 'transactions')) {
    if (!transactionsField) break;
    try {
      const args = getArgumentValues(transactionsField, node, info.variableValues);
      transactionWindows.push(windowOf(args.filter as TransactionFilter | null | undefined));
    } catch {
      // Arguments the execution itself will refuse: nothing to start for them.
    }
  }
  return { balances: childFields(info, level, 'balance').length > 0, transactionWindows };
}

/**
 * The reads of an account connection's first page (edges.node), bounded by its page size; none for
 * a later page (its accounts are not the ones a listing starts with).
 */
export function accountPageReads(
  info: GraphQLResolveInfo,
  args: { first?: number | null; after?: string | null },
): AccountReads | undefined {
  if (args.after) return undefined;
  return { ...accountReads(info, ['edges', 'node']), accountsAtMost: args.first ?? undefined };
}

/** The window of a transactions filter, as the transactions resolver reads it. */
export function windowOf(filter: TransactionFilter | null | undefined): TransactionWindow {
  return { from: filter?.from ?? undefined, to: filter?.to ?? undefined };
}

/** The fields named `name` selected directly under `parents`, through fragments. */
function childFields(info: GraphQLResolveInfo, parents: readonly FieldNode[], name: string): FieldNode[] {
  const found: FieldNode[] = [];
  const visit = (selectionSet: SelectionSetNode | undefined, seen: Set<string>): void => {
    for (const selection of selectionSet?.selections ?? []) {
      if (!included(info, selection)) continue;
      if (selection.kind === Kind.FIELD) {
        if (selection.name.value === name) found.push(selection);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        visit(selection.selectionSet, seen);
      } else if (!seen.has(selection.name.value)) {
        seen.add(selection.name.value);
        visit(info.fragments[selection.name.value]?.selectionSet, seen);
      }
    }
  };
  for (const parent of parents) visit(parent.selectionSet, new Set());
  return found;
}

function included(info: GraphQLResolveInfo, node: Parameters<typeof getDirectiveValues>[1]): boolean {
  if (!node.directives?.length) return true;
  if (getDirectiveValues(GraphQLSkipDirective, node, info.variableValues)?.if === true) return false;
  return getDirectiveValues(GraphQLIncludeDirective, node, info.variableValues)?.if !== false;
}
