/**
 * Card payment routing: which processor a card payment goes to, and when it may go to the next one.
 *
 * The route table (PAYMENT_ROUTES, parsed by `parseRouteTable`) is an ordered list of rules; the first
 * rule whose conditions match the payment (currency, amount range, and the card's scheme and issuing
 * country where a rule asks for them) and that names a processor this process reaches decides the
 * candidates, in order. The card facts come from a processor that knows the payment method
 * (`describeCard`); a rule that asks for them never matches a card whose facts are unknown. Weights pick the first candidate by a hash of the
 * subject and idempotency key, so retries of one payment always start at the same processor; the
 * customer's preferred processor, when the rule allows it, goes first. Without a table every reachable
 * card processor is a candidate, in module-list order.
 *
 * Failover (`failoverReason`) is allowed only when the error proves the processor cannot have moved
 * money: the request never left (breaker open, bulkhead full, connection refused) or the processor
 * answered 503/429, which it does before accepting a payment. A timeout, a dropped connection after
 * the request was sent or any other answer is ambiguous: the payment stays with that processor and is
 * asked again under the same key, never sent elsewhere. Each processor gets its own partner key derived
 * from the client's, so a retry reaches the same processor's record of the same attempt.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { refusedBeforeAcceptance } from '../../domain/errors.js';
import type { PaymentAttempt, PaymentRoute, ProviderName } from '../../domain/model.js';
import { CARD_SCHEMES, type CardFacts, type CardScheme } from '../../domain/providers.js';
import { MoneyError, parseDecimal, type Money } from '../../domain/money.js';

/** One rule of the route table, validated. */
export interface RouteRule {
  name: string;
  /** ISO 4217 codes the rule applies to; null: any currency. */
  currencies: string[] | null;
  /** Inclusive bounds, as decimals in the payment's currency; null: unbounded. */
  minAmount: string | null;
  maxAmount: string | null;
  /** Card schemes the rule applies to; null: any card. */
  schemes: CardScheme[] | null;
  /** Issuing countries (ISO 3166-1 alpha-2) the rule applies to; null: any. */
  countries: string[] | null;
  processors: ProviderName[];
  /** Relative weights of the processors for the first attempt; null: the listed order. */
  weights: Record<ProviderName, number> | null;
}

const DECIMAL = /^\d{1,15}(\.\d{1,4})?$/;

const ruleSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'lower-case letters, digits, - and _'),
    currencies: z
      .array(z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code'))
      .min(1)
      .optional(),
    minAmount: z.string().regex(DECIMAL, 'a decimal amount').optional(),
    maxAmount: z.string().regex(DECIMAL, 'a decimal amount').optional(),
    schemes: z.array(z.enum(CARD_SCHEMES)).min(1).optional(),
    countries: z
      .array(z.string().regex(/^[A-Z]{2}$/, 'an ISO 3166-1 alpha-2 code'))
      .min(1)
      .optional(),
    processors: z.array(z.string()).min(1),
    weights: z.record(z.string(), z.number().int().min(0).max(1000)).optional(),
  })
  .strict();

/**
 * Parses PAYMENT_ROUTES (a JSON array of rules). Problems are returned in words, for the configuration
 * report; `cardProcessors` are the partners able to take card payments.
 */
export function parseRouteTable(
  text: string,
  cardProcessors: readonly ProviderName[],
): { rules: RouteRule[] | null; problems: string[] } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { rules: null, problems: ['PAYMENT_ROUTES is not valid JSON.'] };
  }
  const parsed = z.array(ruleSchema).min(1).safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return {
      rules: null,
      problems: [`PAYMENT_ROUTES[${issue.path.join('.')}]: ${issue.message}.`],
    };
  }
  const problems: string[] = [];
  const names = new Set<string>();
  const rules = parsed.data.map((rule): RouteRule => {
    const at = `PAYMENT_ROUTES rule "${rule.name}"`;
    if (names.has(rule.name)) problems.push(`${at} is named twice.`);
    names.add(rule.name);
    for (const processor of rule.processors) {
      if (!cardProcessors.includes(processor))
        problems.push(`${at}: ${processor} is not a card processor (${cardProcessors.join(', ')}).`);
    }
    if (new Set(rule.processors).size !== rule.processors.length)
      problems.push(`${at} names a processor twice.`);
    for (const name of Object.keys(rule.weights ?? {})) {
      if (!rule.processors.includes(name)) problems.push(`${at}: weight for ${name}, not in its processors.`);
    }
    if ((rule.minAmount || rule.maxAmount) && !rule.currencies)
      problems.push(`${at}: amount bounds need the currencies they are written in.`);
    for (const currency of rule.currencies ?? []) {
      for (const bound of [rule.minAmount, rule.maxAmount]) {
        if (bound && boundOf(bound, currency) === null)
          problems.push(`${at}: ${bound} is not an amount in ${currency}.`);
      }
    }
    return {
      name: rule.name,
      currencies: rule.currencies ?? null,
      minAmount: rule.minAmount ?? null,
      maxAmount: rule.maxAmount ?? null,
      schemes: rule.schemes ?? null,
      countries: rule.countries ?? null,
      processors: rule.processors,
      weights: rule.weights ?? null,
    };
  });
  return problems.length > 0 ? { rules: null, problems } : { rules, problems };
}

function boundOf(decimal: string, currency: string): bigint | null {
  try {
    return parseDecimal(decimal, currency).minor;
  } catch (error) {
    if (error instanceof MoneyError) return null;
    throw error;
  }
}

/** The processors a card payment may go to, in order, and the rule that chose them. */
export interface RouteChoice {
  rule: string;
  candidates: ProviderName[];
}

/** Chooses card processors by the route table; one per PaymentService. */
export class CardRouter {
  private readonly rules: RouteRule[];

  /**
   * `rules` null: one rule, "default", over every reachable processor in order. `reachable`: the card
   * processors this process has a provider for; a rule's other processors are skipped.
   */
  constructor(
    rules: readonly RouteRule[] | null,
    private readonly reachable: readonly ProviderName[],
  ) {
    this.rules = rules
      ? [...rules]
      : [
          {
            name: 'default',
            currencies: null,
            minAmount: null,
            maxAmount: null,
            schemes: null,
            countries: null,
            processors: [...reachable],
            weights: null,
          },
        ];
  }

  /** Whether a rule asks for the card's scheme or country, so it is worth looking up. */
  get needsCard(): boolean {
    return this.rules.some((rule) => rule.schemes !== null || rule.countries !== null);
  }

  /** The card processors this process reaches, in module-list order. */
  get processors(): readonly ProviderName[] {
    return this.reachable;
  }

  /** Whether any card processor is reachable at all. */
  get available(): boolean {
    return this.reachable.length > 0;
  }

  /**
   * The route of a payment of `amount`, or null when no rule matches it. `seed` (subject and key)
   * makes the weighted pick the same on every retry; `preferred` goes first when the rule allows it.
   * `card`: what is known of the card (null: nothing); `card: 'any'` matches card rules as if the
   * facts were whatever they ask, to tell whether some rule could take the payment at all.
   */
  choose(
    amount: Money,
    seed: string,
    preferred: ProviderName | null = null,
    card: CardFacts | null | 'any' = null,
  ): RouteChoice | null {
    for (const rule of this.rules) {
      if (!matches(rule, amount, card)) continue;
      const usable = rule.processors.filter((processor) => this.reachable.includes(processor));
      if (usable.length === 0) continue;
      const first =
        preferred && usable.includes(preferred) ? preferred : weightedPick(usable, rule.weights, seed);
      return { rule: rule.name, candidates: [first, ...usable.filter((p) => p !== first)] };
    }
    return null;
  }
}

function matches(rule: RouteRule, amount: Money, card: CardFacts | null | 'any'): boolean {
  if (rule.currencies && !rule.currencies.includes(amount.currency)) return false;
  if (card !== 'any') {
    if (rule.schemes && !(card?.scheme && rule.schemes.includes(card.scheme))) return false;
    if (rule.countries && !(card?.country && rule.countries.includes(card.country))) return false;
  }
  const min = rule.minAmount ? boundOf(rule.minAmount, amount.currency) : null;
  const max = rule.maxAmount ? boundOf(rule.maxAmount, amount.currency) : null;
  if (min !== null && amount.minor < min) return false;
  if (max !== null && amount.minor > max) return false;
  return true;
}

/** The first processor by weight (a stable hash of `seed` into the weights' total); else the first listed. */
function weightedPick(
  processors: ProviderName[],
  weights: Record<ProviderName, number> | null,
  seed: string,
): ProviderName {
  if (!weights) return processors[0]!;
  const weighted = processors.map((processor) => ({ processor, weight: weights[processor] ?? 0 }));
  const total = weighted.reduce((sum, entry) => sum + entry.weight, 0);
  if (total === 0) return processors[0]!;
  let point = createHash('sha256').update(seed).digest().readUInt32BE(0) % total;
  for (const entry of weighted) {
    if (point < entry.weight) return entry.processor;
    point -= entry.weight;
  }
  return processors[0]!;
}

/**
 * Why a failed create may go to the next processor, or null when it may not: only failures that prove
 * the processor cannot have created the payment.
 */
export function failoverReason(error: unknown): string | null {
  if (!refusedBeforeAcceptance(error)) return null;
  return error.unsent ?? `HTTP ${error.status} before acceptance`;
}

/** Told each routed attempt as it ends: its rule, processor and outcome (metrics per route). */
export type RouteObserver = (attempt: {
  rule: string;
  processor: ProviderName;
  outcome: PaymentAttempt['outcome'];
}) => void;

/** What a routed initiatePayment keeps between attempts (its recovery plan, JSON). */
export interface CardPlan {
  rule: string;
  candidates: ProviderName[];
  /** The candidate being tried. */
  index: number;
  /** Attempts that failed over, oldest first (ISO times). */
  failedOver: { processor: ProviderName; reason: string; at: string }[];
}

export function firstPlan(choice: RouteChoice): CardPlan {
  return { rule: choice.rule, candidates: choice.candidates, index: 0, failedOver: [] };
}

/** The processor a plan sends to. */
export function processorOf(plan: CardPlan): ProviderName {
  return plan.candidates[plan.index]!;
}

/** The plan after `error`, sending to the next candidate; null when it must not fail over. */
export function nextPlan(plan: CardPlan, error: unknown, at: Date): CardPlan | null {
  const reason = failoverReason(error);
  if (reason === null || plan.index + 1 >= plan.candidates.length) return null;
  return {
    ...plan,
    index: plan.index + 1,
    failedOver: [...plan.failedOver, { processor: processorOf(plan), reason, at: at.toISOString() }],
  };
}

/**
 * The partner key of the plan's processor: the client's derived key at the first candidate, and a key
 * derived from it per processor after a failover, so no two processors ever share one.
 */
export function processorKey(partnerKey: string, plan: CardPlan): string {
  return plan.index === 0 ? partnerKey : `${partnerKey}.${processorOf(plan)}`;
}

/** The route the ledger records, ending with the attempt that answered. */
export function routeOf(plan: CardPlan, outcome: 'CREATED' | 'DECLINED', at: Date): PaymentRoute {
  const attempts: PaymentAttempt[] = plan.failedOver.map((attempt) => ({
    processor: attempt.processor,
    outcome: 'FAILED_OVER',
    reason: attempt.reason,
    at: new Date(attempt.at),
  }));
  attempts.push({ processor: processorOf(plan), outcome, reason: null, at });
  return { rule: plan.rule, candidates: plan.candidates, attempts };
}
