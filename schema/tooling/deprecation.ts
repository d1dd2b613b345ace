/**
 * The deprecation policy. A deprecation names the day after which the element may be removed:
 *
 *     @deprecated(reason: "Use `bookedAt`. Removal: 2026-09-30.")
 *
 * Until that day, removing the element is a breaking change like any other; from that day on, removing
 * it is accepted without an intended-change entry. A deprecation without a removal date fails lint.
 */
import { isEnumType, isInputObjectType, isInterfaceType, isObjectType, type GraphQLSchema } from 'graphql';
import { error, warning, type Problem } from './problems.js';
import type { BuiltSubgraph } from './sdl.js';

/** "Removal: 2026-09-30", "removed after 2026-09-30", "remove on 2026-09-30" (case-insensitive). */
const REMOVAL_DATE = /\bremov(?:al|ed|e)?\b[^\d\n]{0,20}?(\d{4}-\d{2}-\d{2})\b/i;

/** The removal date a deprecation reason names (YYYY-MM-DD), or null when it names none or an impossible day. */
export function removalDateOf(reason: string | null | undefined): string | null {
  const date = reason ? REMOVAL_DATE.exec(reason)?.[1] : undefined;
  if (!date) return null;
  const parsed = new Date(`${date}T00:00:00Z`);
  return !Number.isNaN(parsed.getTime()) && parsed.toISOString().startsWith(date) ? date : null;
}

/** Today's date in UTC as YYYY-MM-DD, the form deprecation dates are compared in. */
export function todayUtc(now: Date = new Date()): string {
  return now.toISOString().slice(0, 10);
}

interface Deprecated {
  coordinate: string;
  reason: string;
}

/** Every deprecated field, argument, input field and enum value among the SDL's own definitions. */
export function deprecatedElements(subgraph: BuiltSubgraph): Deprecated[] {
  const found: Deprecated[] = [];
  const add = (coordinate: string, reason: string | null | undefined): void => {
    if (reason != null) found.push({ coordinate, reason });
  };
  for (const name of subgraph.ownTypes) {
    const type = subgraph.schema.getType(name);
    if (isObjectType(type) || isInterfaceType(type)) {
      for (const field of Object.values(type.getFields())) {
        if (!subgraph.ownFields.has(`${name}.${field.name}`)) continue;
        add(`${name}.${field.name}`, field.deprecationReason);
        for (const arg of field.args) add(`${name}.${field.name}(${arg.name}:)`, arg.deprecationReason);
      }
    } else if (isInputObjectType(type)) {
      for (const field of Object.values(type.getFields()))
        add(`${name}.${field.name}`, field.deprecationReason);
    } else if (isEnumType(type)) {
      for (const value of type.getValues()) add(`${name}.${value.name}`, value.deprecationReason);
    }
  }
  return found;
}

/** Lint: every deprecation names a removal date; one whose date has passed is due for removal (a warning). */
export function checkDeprecations(subgraph: BuiltSubgraph, today: string): Problem[] {
  return deprecatedElements(subgraph).flatMap(({ coordinate, reason }) => {
    const date = removalDateOf(reason);
    if (!date) {
      return [
        error(
          'deprecation',
          'removal-date',
          coordinate,
          `@deprecated reason must name a removal date, e.g. "Use X instead. Removal: YYYY-MM-DD." (reason: ${JSON.stringify(reason)})`,
        ),
      ];
    }
    return date <= today
      ? [
          warning(
            'deprecation',
            'due',
            coordinate,
            `removal date ${date} has passed; the element may now be removed`,
          ),
        ]
      : [];
  });
}

/** The deprecation reason of a `Type.field` or `Enum.VALUE` coordinate in a schema, or null. */
export function deprecationAt(schema: GraphQLSchema, coordinate: string): string | null {
  const [typeName = '', member = ''] = coordinate.split('.');
  const type = schema.getType(typeName);
  if (isObjectType(type) || isInterfaceType(type) || isInputObjectType(type)) {
    return type.getFields()[member]?.deprecationReason ?? null;
  }
  if (isEnumType(type)) return type.getValue(member)?.deprecationReason ?? null;
  return null;
}
