/**
 * The module list: every partner Tributary speaks to, one line each. Adding a partner is a folder under
 * datasources/ (its PartnerModule in index.ts), one under sandboxes/, a line here and the value in the
 * SDL's `Provider` enum (docs/adding-a-partner.md). Everything that needs to know the partners (the
 * registry, the configuration, webhook intake, the CLI, migrations, the Provider enum mapping) reads
 * this list; nothing else in product code names a partner.
 */
import type { ProviderName } from '../domain/model.js';
import { fromRoot } from '../store/paths.js';
import { MIGRATIONS_DIR } from '../store/migrate.js';
import type { Capability, PartnerModule } from './module.js';
import { adyen } from './adyen/index.js';
import { openBanking } from './openbanking/index.js';
import { plaid } from './plaid/index.js';
import { stripe } from './stripe/index.js';

export const PARTNER_MODULES: readonly PartnerModule[] = [openBanking, plaid, stripe, adyen];

/** Every partner's name, in module-list order. */
export const PARTNER_NAMES: readonly ProviderName[] = PARTNER_MODULES.map((module) => module.name);

/** Whether `name` is a partner of the module list. */
export function isPartnerName(name: string): boolean {
  return PARTNER_NAMES.includes(name);
}

/** The module of a partner; throws for a name outside the list. */
export function partnerModule(name: ProviderName): PartnerModule {
  const module = PARTNER_MODULES.find((candidate) => candidate.name === name);
  if (!module) throw new Error(`No partner module is named "${name}".`);
  return module;
}

/** The partners offering a capability, in module-list order. */
export function partnersWith(capability: Capability): ProviderName[] {
  return PARTNER_MODULES.filter((module) => module.capabilities.includes(capability)).map((m) => m.name);
}

/** The partners that move money (bank or card): what reconciliation compares with the ledger. */
export function paymentPartners(): ProviderName[] {
  return PARTNER_MODULES.filter((module) =>
    module.capabilities.some(
      (capability) => capability === 'bank-payments' || capability === 'card-payments',
    ),
  ).map((module) => module.name);
}

/** The core migrations and every partner's own, for `migrate(db, { dirs })`. */
export function migrationDirs(): string[] {
  return [
    MIGRATIONS_DIR,
    ...PARTNER_MODULES.flatMap((module) => (module.migrations ? [fromRoot(module.migrations)] : [])),
  ];
}
