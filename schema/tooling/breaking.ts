/**
 * The breaking-change check: the current SDL against the published snapshot, with @graphql-inspector/core
 * deciding what breaks clients, plus two rules of our own: the deprecation window (deprecation.ts) and
 * authorisation that tightens (a field that now needs a scope old tokens lack breaks those clients too).
 *
 * A breaking change passes only when schema/intended-changes.json names it (path, optionally type, and a
 * reason); `npm run schema:publish` then moves the snapshot forward and empties that list.
 */
import { diff, CriticalityLevel, type Change } from '@graphql-inspector/core';
import { isInterfaceType, isObjectType, type GraphQLSchema } from 'graphql';
import { deprecationAt, removalDateOf } from './deprecation.js';
import { error, warning, type Problem } from './problems.js';
import { combineScopes, describeScopes, scopesImply, scopesOf, type BuiltSubgraph } from './sdl.js';

/** One entry of schema/intended-changes.json. */
export interface IntendedChange {
  /** The coordinate the change is about, as reported: `Transaction.merchantName`, `BreakerState.HALF_OPEN`. */
  path: string;
  /** The change type as reported (`FIELD_REMOVED`, `FIELD_TYPE_CHANGED`, ...); any type at `path` when omitted. */
  type?: string | undefined;
  /** Why the break is acceptable and who agreed to it. */
  reason: string;
}

export interface BreakingInput {
  published: BuiltSubgraph;
  current: BuiltSubgraph;
  intended: readonly IntendedChange[];
  /** YYYY-MM-DD (UTC); deprecation windows are judged against it. */
  today: string;
}

export interface BreakingOutcome {
  problems: Problem[];
  /** Breaking changes let through, each with why (an intended entry or an elapsed deprecation window). */
  accepted: string[];
  /** Changes that break nobody; for the report's summary. */
  safe: number;
}

/** A change between the snapshot and the current SDL, from inspector or from our own rules. */
interface Finding {
  type: string;
  path: string;
  message: string;
  level: CriticalityLevel;
  reason: string;
}

function fromInspector(change: Change): Finding {
  return {
    type: change.type,
    path: change.path ?? 'schema',
    message: change.message,
    level: change.criticality.level,
    reason: change.criticality.reason ?? 'existing operations may fail',
  };
}

export async function checkBreakingChanges(input: BreakingInput): Promise<BreakingOutcome> {
  const outcome: BreakingOutcome = { problems: [], accepted: [], safe: 0 };
  const inspected = await diff(input.published.schema, input.current.schema);
  const changes = [...inspected.map(fromInspector), ...scopeChanges(input)];
  const used = new Set<IntendedChange>();

  for (const change of changes) {
    const { level, path } = change;
    if (level === CriticalityLevel.NonBreaking) {
      outcome.safe += 1;
      continue;
    }
    if (level === CriticalityLevel.Dangerous) {
      outcome.problems.push(
        warning('breaking', change.type, path, `${change.message} (dangerous: ${change.reason})`),
      );
      continue;
    }
    const entry = input.intended.find(
      (e) => e.path === path && (e.type === undefined || e.type === change.type),
    );
    if (entry) {
      used.add(entry);
      outcome.accepted.push(`${path}: ${change.message} — intended: ${entry.reason}`);
      continue;
    }
    const verdict = deprecationVerdict(input.published.schema, change, input.today);
    if (verdict.allowed) {
      outcome.accepted.push(`${path}: ${change.message} — ${verdict.why}`);
      continue;
    }
    const why = verdict.why ?? change.reason;
    outcome.problems.push(
      error(
        'breaking',
        change.type,
        path,
        `${change.message}: ${why}\nIf intended, add {"path": "${path}", "type": "${change.type}", "reason": "..."} to schema/intended-changes.json.`,
      ),
    );
  }

  for (const entry of input.intended) {
    if (used.has(entry)) continue;
    const what = entry.type ? `${entry.type} at ${entry.path}` : `a change at ${entry.path}`;
    outcome.problems.push(
      warning(
        'breaking',
        'unused-intended',
        entry.path,
        `intended-changes.json expects ${what}, but the diff has none`,
      ),
    );
  }
  return outcome;
}

interface Verdict {
  allowed: boolean;
  /** Why it is allowed, or a more precise reason it is not than inspector's generic one. */
  why?: string;
}

/** Removal of a deprecated field or enum value is allowed from its removal date on, and refused before. */
function deprecationVerdict(published: GraphQLSchema, change: Finding, today: string): Verdict {
  const removals = ['FIELD_REMOVED', 'ENUM_VALUE_REMOVED', 'INPUT_FIELD_REMOVED'];
  if (!removals.includes(change.type)) return { allowed: false };
  const reason = deprecationAt(published, change.path);
  if (reason === null) return { allowed: false, why: 'removed without a deprecation period' };
  const date = removalDateOf(reason);
  if (!date)
    return { allowed: false, why: 'it was deprecated without a removal date, so it cannot be removed yet' };
  if (date > today)
    return { allowed: false, why: `removed before its removal date ${date} (today is ${today})` };
  return { allowed: true, why: `deprecated with removal date ${date}, which has passed` };
}

/**
 * Fields present in both schemas whose effective scope requirement (the type's and the field's together)
 * is no longer met by every caller who met the old one.
 */
function scopeChanges({ published, current }: BreakingInput): Finding[] {
  const changes: Finding[] = [];
  for (const name of current.ownTypes) {
    const before = published.schema.getType(name);
    const after = current.schema.getType(name);
    if (
      !(isObjectType(before) || isInterfaceType(before)) ||
      !(isObjectType(after) || isInterfaceType(after))
    ) {
      continue;
    }
    for (const field of Object.values(after.getFields())) {
      const old = before.getFields()[field.name];
      if (!old || !current.ownFields.has(`${name}.${field.name}`)) continue;
      const was = combineScopes(scopesOf(before), scopesOf(old));
      const now = combineScopes(scopesOf(after), scopesOf(field));
      if (scopesImply(was, now)) continue;
      changes.push({
        type: 'REQUIRED_SCOPES_TIGHTENED',
        path: `${name}.${field.name}`,
        message: `Field '${name}.${field.name}' now requires ${describeScopes(now)} (was ${describeScopes(was)})`,
        level: CriticalityLevel.Breaking,
        reason: 'callers whose tokens met the old requirement are now refused',
      });
    }
  }
  return changes;
}
