/**
 * Demo data for development and tests: cust_alice and cust_bob connected to every sandbox partner
 * that supports it, through the partners' own consent flows (the sandbox stands in for the customer
 * approving at the bank). Sandboxes keep their state in memory, so every start links the demo
 * customers afresh: a link from an earlier run points at a bank that no longer knows it, and is revoked.
 */
import type { Logger } from 'pino';
import type { ProviderName } from '../datasources/canonical.js';
import type { Registry } from '../datasources/registry.js';
import type { ConsentRepository } from '../store/consents.js';
import type { AuditLog } from '../store/audit.js';

export const DEMO_CUSTOMERS = ['cust_alice', 'cust_bob'] as const;

export interface DemoDeps {
  registry: Registry;
  consents: ConsentRepository;
  audit: AuditLog;
  logger: Logger;
}

/** Connects each customer to each sandbox partner; returns what was linked. */
export async function seedDemoCustomers(
  deps: DemoDeps,
  customers: readonly string[] = DEMO_CUSTOMERS,
): Promise<{ subject: string; provider: ProviderName }[]> {
  const linked: { subject: string; provider: ProviderName }[] = [];
  for (const provider of deps.registry.sandboxLinkable()) {
    for (const subject of customers) {
      const stale = await deps.consents.findActive(subject, provider);
      if (stale) {
        await deps.consents.revoke(subject, stale.id);
        await deps.audit.append({
          actor: 'system:demo-seed',
          action: 'consent.revoked',
          subject,
          target: `consent:${stale.id}`,
          details: { provider, reason: 'the sandbox restarted' },
        });
      }
      const link = await deps.registry.connectSandboxCustomer(provider, subject);
      const consent = await deps.consents.grant({
        subject,
        provider,
        permissions: link.permissions,
        partnerRef: link.externalRef,
        credential: {
          accessToken: link.accessToken,
          refreshToken: link.refreshToken,
          expiresAt: link.tokenExpiresAt,
        },
        expiresAt: link.expiresAt,
      });
      await deps.audit.append({
        actor: 'system:demo-seed',
        action: 'consent.granted',
        subject,
        target: `consent:${consent.id}`,
        details: { provider, permissions: link.permissions },
      });
      linked.push({ subject, provider });
    }
  }
  if (linked.length > 0) deps.logger.info({ linked }, 'demo customers connected to the sandboxes');
  return linked;
}
