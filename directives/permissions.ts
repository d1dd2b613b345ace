/**
 * Authorisation generated from the SDL, deny by default. Every root field has a graphql-shield rule
 * that reads like a sentence: the caller is authenticated and holds the scopes the SDL asks for
 * (root fields the SDL does not scope are denied, but for the federation entry points). Every object
 * of an entity type is checked once, when a field hands it out: its type's scopes, then its owner.
 * Another customer's object behaves exactly like a missing one (NOT_FOUND), whatever the path: root
 * field, nested field, `_entities`. A field with a scope of its own (`Account.balance` needs
 * `balances:read`) is checked before it resolves, synchronously (`fieldScopeChecks`).
 *
 * The rest of the schema resolves unwrapped: the scalar fields of a checked account cost what they
 * cost without authorisation. Rules are compiled once per schema; nothing is decided per field
 * that was not already decided for its object.
 */
import {
  getNamedType,
  isAbstractType,
  isObjectType,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLOutputType,
  type GraphQLSchema,
} from 'graphql';
import {
  applyMiddleware,
  middleware,
  type IMiddlewareFunction,
  type IMiddlewareTypeMap,
} from 'graphql-middleware';
import { and, deny, rule, shield } from 'graphql-shield';
import type { IRules } from 'graphql-shield';
import { ForbiddenError, NotFoundError, UnauthenticatedError } from '../domain/errors.js';
import { decodeAnyId } from '../domain/ids.js';
import type { Principal } from '../domain/principal.js';
import { collectFieldScopes, satisfies, typeScopes, type ScopeRequirement } from './scopes.js';

/** What the rules read of the request context: only who is asking. */
interface AuthContext {
  principal: Principal | null;
}

/** How to find the owner of each entity type's objects (the canonical model's owner field). */
const OWNER_OF: Readonly<Record<string, (parent: Record<string, unknown>) => unknown>> = {
  Account: (parent) => parent.ownerId,
  Transaction: (parent) => parent.ownerId,
  Payment: (parent) => parent.ownerId,
  Consent: (parent) => parent.subject,
  Customer: (parent) => parent.id,
};

/** The types whose objects belong to one subject; every field of them checks the owner. */
export const OWNED_TYPES: readonly string[] = Object.keys(OWNER_OF);

/** Root fields that need no scope of their own: the router reads the SDL; `_entities` is guarded per entity type. */
const ROOT_WITHOUT_SCOPES: Readonly<Record<string, 'public' | 'entities'>> = {
  'Query._service': 'public',
  'Query._entities': 'entities',
};

/** Any shield rule (graphql-shield exports no name for the union). */
type ShieldRule = Parameters<typeof and>[0];

const ROOT_TYPES = new Set(['Query', 'Mutation', 'Subscription']);

function describe(requirements: readonly ScopeRequirement[]): string {
  return requirements.map((requirement) => requirement.map((all) => all.join('+')).join('|')).join('&');
}

/** The error a caller earns for a field that needs `requirements`, or null when it may resolve. */
function refusal(principal: Principal | null, requirements: readonly ScopeRequirement[]): Error | null {
  if (!principal) return new UnauthenticatedError();
  for (const requirement of requirements) {
    if (!satisfies(principal.scopes, requirement)) {
      return new ForbiddenError(`This field needs the scope ${describe([requirement])}.`);
    }
  }
  return null;
}

function authorised(requirements: readonly ScopeRequirement[]): ShieldRule {
  return rule(`authorised(${describe(requirements)})`, { cache: 'contextual' })(
    (_parent, _args, context: AuthContext) => refusal(context.principal, requirements) ?? true,
  );
}

const publicField = rule('public', { cache: 'contextual' })(() => true);

/**
 * `_entities`: authenticated, and holding the type-level scopes of every entity type the
 * representations name — checked before any reference resolver loads anything, so a caller without
 * `accounts:read` cannot make Tributary call a partner by asking for Account references.
 */
function entitiesAuthorised(schema: GraphQLSchema): ShieldRule {
  const scopesOf = new Map<string, ScopeRequirement>();
  for (const type of Object.values(schema.getTypeMap())) {
    const requirement = typeScopes(type);
    if (requirement) scopesOf.set(type.name, requirement);
  }
  return rule('entities', { cache: 'no_cache' })(
    (_parent, args: { representations?: unknown }, context: AuthContext) => {
      const principal = context.principal;
      if (!principal) return new UnauthenticatedError();
      const representations = Array.isArray(args.representations) ? args.representations : [];
      for (const representation of representations) {
        const requirement = scopesOf.get(String((representation as { __typename?: unknown }).__typename));
        if (requirement && !satisfies(principal.scopes, requirement)) {
          return new ForbiddenError(`This field needs the scope ${describe([requirement])}.`);
        }
      }
      return true;
    },
  );
}

/**
 * `Query.node(id)`: the id names the kind of object, so the caller's scopes are checked for that kind
 * before anything is loaded (an `accounts:read` token cannot make Tributary fetch a payment). A
 * malformed id passes here and answers NOT_FOUND from the resolver.
 */
function nodeAuthorised(schema: GraphQLSchema): ShieldRule {
  return rule('node', { cache: 'no_cache' })((_parent, args: { id?: unknown }, context: AuthContext) => {
    const principal = context.principal;
    if (!principal) return new UnauthenticatedError();
    const decoded = typeof args.id === 'string' ? decodeAnyId(args.id) : null;
    const type = decoded ? schema.getType(decoded.kind) : undefined;
    const requirement = type ? typeScopes(type) : null;
    if (requirement && !satisfies(principal.scopes, requirement)) {
      return new ForbiddenError(`This field needs the scope ${describe([requirement])}.`);
    }
    return true;
  });
}

/** Root fields whose arguments decide what they need beyond their SDL scopes. */
const ROOT_ARGUMENT_RULES: Readonly<Record<string, (schema: GraphQLSchema) => ShieldRule>> = {
  'Query.node': nodeAuthorised,
};

/** The named type a field returns, through lists and non-null wrappers. */
function namedTypeOf(type: GraphQLOutputType): GraphQLNamedType {
  return getNamedType(type);
}

/** Object types whose objects are checked when a field hands them out: owned, or scoped at type level. */
function guardedObjectTypes(schema: GraphQLSchema): Map<string, ObjectGuard> {
  const guards = new Map<string, ObjectGuard>();
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type)) continue;
    const requirement = typeScopes(type);
    const ownerOf = OWNER_OF[type.name];
    if (!requirement && !ownerOf) continue;
    guards.set(type.name, { type: type.name, requirement, ownerOf });
  }
  return guards;
}

interface ObjectGuard {
  type: string;
  requirement: ScopeRequirement | null;
  ownerOf: ((parent: Record<string, unknown>) => unknown) | undefined;
}

/**
 * The shield's rule map: a rule before every root field (deny unless the SDL scopes it, but for the
 * federation entry points). Fields below the root with a `@requiresScopes` of their own are checked by
 * `fieldScopeChecks`; the rest (the scalar fields of an account, a transaction's amount) are not
 * wrapped at all: their object was checked when a field handed it out (`objectGuards`).
 */
export function buildRuleMap(schema: GraphQLSchema): Record<string, Record<string, ShieldRule>> {
  const map: Record<string, Record<string, ShieldRule>> = {};
  const rules = new Map<string, ShieldRule>();
  const ruleFor = (requirements: ScopeRequirement[]) => {
    const key = describe(requirements);
    let found = rules.get(key);
    if (!found) rules.set(key, (found = authorised(requirements)));
    return found;
  };
  for (const { type, field, requirements } of collectFieldScopes(schema)) {
    if (ROOT_TYPES.has(type)) {
      const coordinate = `${type}.${field}`;
      const access = requirements.length === 0 ? ROOT_WITHOUT_SCOPES[coordinate] : 'scoped';
      const byArguments = ROOT_ARGUMENT_RULES[coordinate];
      (map[type] ??= {})[field] =
        access === 'scoped'
          ? byArguments
            ? and(ruleFor(requirements), byArguments(schema))
            : ruleFor(requirements)
          : access === 'public'
            ? publicField
            : access === 'entities'
              ? entitiesAuthorised(schema)
              : deny;
    }
  }
  return map;
}

/**
 * The fields below the root whose own `@requiresScopes` asks more than their type does
 * (`Account.balance` needs `balances:read`), with everything they need: the type's requirement, then
 * the field's. One of them resolves once per object (100 times in `_entities` x100), so the check is a
 * plain synchronous test of the principal's scopes before the resolver runs, not a shield rule, whose
 * machinery awaits on every field even when the answer is already known.
 */
export function fieldScopeChecks(schema: GraphQLSchema): Record<string, Record<string, ScopeRequirement[]>> {
  const checks: Record<string, Record<string, ScopeRequirement[]>> = {};
  for (const { type, field, requirements, own } of collectFieldScopes(schema)) {
    if (own && !ROOT_TYPES.has(type)) (checks[type] ??= {})[field] = requirements;
  }
  return checks;
}

/**
 * A field middleware as written here: synchronous when the resolver is, which graphql-middleware's own
 * (async) type cannot say.
 */
type FieldMiddleware = (
  resolve: (...params: unknown[]) => unknown,
  parent: unknown,
  args: unknown,
  context: AuthContext,
  info: unknown,
) => unknown;

/** A graphql-middleware map that refuses a field the caller lacks the scopes for, before it resolves. */
function scopedFields(schema: GraphQLSchema): IMiddlewareTypeMap {
  const map: Record<string, Record<string, IMiddlewareFunction>> = {};
  for (const [type, fields] of Object.entries(fieldScopeChecks(schema))) {
    for (const [field, requirements] of Object.entries(fields)) {
      const check: FieldMiddleware = (resolve, parent, args, context, info) =>
        refusal(context.principal, requirements) ?? resolve(parent, args, context, info);
      (map[type] ??= {})[field] = check as unknown as IMiddlewareFunction;
    }
  }
  return map;
}

/**
 * The fields that hand out guarded objects (an account, a page's transaction, `_entities`' members):
 * for each, the coordinates and the object types it may return. Every path to an owned object goes
 * through one of them, whatever the query.
 */
export function objectEntryFields(
  schema: GraphQLSchema,
): { type: string; field: string; returns: string[] }[] {
  const guards = guardedObjectTypes(schema);
  const entries: { type: string; field: string; returns: string[] }[] = [];
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    for (const field of Object.values(type.getFields())) {
      const named = namedTypeOf(field.type);
      const candidates = isAbstractType(named)
        ? schema.getPossibleTypes(named).map((member) => member.name)
        : [named.name];
      const returns = candidates.filter((name) => guards.has(name));
      if (returns.length > 0) entries.push({ type: type.name, field: field.name, returns });
    }
  }
  return entries;
}

/** The check an object passes before any of its fields resolves: the type's scopes, then its owner. */
function checkObject(
  value: unknown,
  typeName: string | undefined,
  guards: ReadonlyMap<string, ObjectGuard>,
  principal: Principal | null,
): unknown {
  if (value === null || value === undefined || value instanceof Error) return value;
  const guard = typeName ? guards.get(typeName) : undefined;
  if (!guard) return typeName ? value : new ForbiddenError();
  if (!principal) return new UnauthenticatedError();
  if (guard.requirement && !satisfies(principal.scopes, guard.requirement)) {
    return new ForbiddenError(`This field needs the scope ${describe([guard.requirement])}.`);
  }
  if (guard.ownerOf && guard.ownerOf(value as Record<string, unknown>) !== principal.subject) {
    return new NotFoundError(guard.type);
  }
  return value;
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

/**
 * A graphql-middleware map that checks what the entry fields resolve to: each object (each item of a
 * list, each promised item) is replaced by the error it earns when the caller may not see it, so
 * another customer's account answers NOT_FOUND at its own path, and its fields never run.
 */
function objectGuards(schema: GraphQLSchema): IMiddlewareTypeMap {
  const guards = guardedObjectTypes(schema);
  const map: Record<string, Record<string, IMiddlewareFunction>> = {};
  for (const { type, field } of objectEntryFields(schema)) {
    const fieldType = (schema.getType(type) as GraphQLObjectType).getFields()[field]!.type;
    const named = namedTypeOf(fieldType);
    const staticType = isAbstractType(named) ? undefined : named.name;
    const typeOf = (value: unknown): string | undefined =>
      staticType ?? (value as { __typename?: string } | null)?.__typename;
    const check = (value: unknown, principal: Principal | null): unknown => {
      if (Array.isArray(value)) return value.map((item) => check(item, principal));
      if (isPromiseLike(value)) return Promise.resolve(value).then((item) => check(item, principal));
      return checkObject(value, typeOf(value), guards, principal);
    };
    const guard: FieldMiddleware = (resolve, parent, args, context, info) => {
      const value = resolve(parent, args, context, info);
      return isPromiseLike(value)
        ? Promise.resolve(value).then((resolved) => check(resolved, context.principal))
        : check(value, context.principal);
    };
    // graphql-middleware types its resolvers as async; a synchronous answer is passed through as is,
    // so a default-resolved field stays synchronous.
    (map[type] ??= {})[field] = guard as unknown as IMiddlewareFunction;
  }
  return map;
}

/**
 * Authorisation compiled from the SDL: shield rules before the root fields, scope checks before the
 * fields with a scope of their own, object checks after the fields that hand out guarded objects.
 * Everything else resolves unwrapped.
 */
export function guardSchema(schema: GraphQLSchema): GraphQLSchema {
  const rules = buildRuleMap(schema);
  const shielded = shield(rules as IRules, {
    fallbackRule: deny,
    fallbackError: () => new ForbiddenError(),
    // Domain errors thrown by resolvers (NOT_FOUND, PARTNER_*) must reach formatError unchanged.
    allowExternalErrors: true,
    debug: false,
  });
  // shield wraps every field it sees; keep only the fields that carry a rule.
  const ruled = middleware((target) => {
    const generated = shielded.generate(target) as Record<string, Record<string, IMiddlewareFunction>>;
    const kept: Record<string, Record<string, IMiddlewareFunction>> = {};
    for (const [type, fields] of Object.entries(rules)) {
      for (const field of Object.keys(fields)) {
        const wrapped = generated[type]?.[field];
        if (wrapped) (kept[type] ??= {})[field] = wrapped;
      }
    }
    return kept;
  });
  return applyMiddleware(schema, objectGuards(schema), ruled, scopedFields(schema));
}
