/**
 * The graphql-shield rule map, generated from the SDL: deny by default, and every field of every type
 * gets a rule that reads like a sentence — the caller is authenticated, holds the scopes the SDL
 * asks for on the field and its type, and, on entity types, owns the object. Another customer's object
 * behaves exactly like a missing one (NOT_FOUND), whatever the path: root field, nested field, `_entities`.
 *
 * Ownership rules never use shield's `contextual` cache: the answer depends on the parent object.
 */
import type { GraphQLSchema } from 'graphql';
import { deny, rule, shield, type and } from 'graphql-shield';
import type { IRules } from 'graphql-shield';
import type { Principal } from '../domain/principal.js';

/** What the rules read of the request context: only who is asking. */
interface AuthContext {
  principal: Principal | null;
}
import { ForbiddenError, NotFoundError, UnauthenticatedError } from '../domain/errors.js';
import { collectFieldScopes, satisfies, typeScopes, type ScopeRequirement } from './scopes.js';

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

function authorised(requirements: readonly ScopeRequirement[], ownerType: string | undefined): ShieldRule {
  const ownerOf = ownerType ? OWNER_OF[ownerType] : undefined;
  const name = `authorised(${describe(requirements)})${ownerType ? `owner(${ownerType})` : ''}`;
  return rule(name, { cache: ownerOf ? 'no_cache' : 'contextual' })(
    (parent: Record<string, unknown>, _args, context: AuthContext) => {
      const principal = context.principal;
      if (!principal) return new UnauthenticatedError();
      for (const requirement of requirements) {
        if (!satisfies(principal.scopes, requirement)) {
          return new ForbiddenError(`This field needs the scope ${describe([requirement])}.`);
        }
      }
      if (ownerOf && ownerOf(parent) !== principal.subject) return new NotFoundError(ownerType ?? 'Object');
      return true;
    },
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

/** The rule map: one entry per field of the schema; anything unlisted falls back to deny. */
export function buildRuleMap(schema: GraphQLSchema): Record<string, Record<string, ShieldRule>> {
  const map: Record<string, Record<string, ShieldRule>> = {};
  const rules = new Map<string, ShieldRule>();
  const ruleFor = (requirements: ScopeRequirement[], ownerType: string | undefined) => {
    const key = `${describe(requirements)}#${ownerType ?? ''}`;
    let found = rules.get(key);
    if (!found) rules.set(key, (found = authorised(requirements, ownerType)));
    return found;
  };
  // The router reads the SDL through `_service`; transport rules (router secret) guard who may ask.
  map._Service = { sdl: publicField };
  for (const { type, field, requirements } of collectFieldScopes(schema)) {
    const fields = (map[type] ??= {});
    const coordinate = `${type}.${field}`;
    if (ROOT_TYPES.has(type) && requirements.length === 0) {
      const access = ROOT_WITHOUT_SCOPES[coordinate];
      fields[field] =
        access === 'public' ? publicField : access === 'entities' ? entitiesAuthorised(schema) : deny;
      continue;
    }
    fields[field] = ruleFor(requirements, type in OWNER_OF ? type : undefined);
  }
  return map;
}

export function buildShield(schema: GraphQLSchema) {
  return shield(buildRuleMap(schema) as IRules, {
    fallbackRule: deny,
    fallbackError: () => new ForbiddenError(),
    // Domain errors thrown by resolvers (NOT_FOUND, PARTNER_*) must reach formatError unchanged.
    allowExternalErrors: true,
    debug: false,
  });
}
