/**
 * Benchmark child: the partner sandboxes, on their own CPU, so their work is never counted as the
 * subgraph's. Argument: SandboxesOptions as JSON. Ready message: the endpoints the subgraph uses.
 * Control over IPC (the Open Banking sandbox speaks mutual TLS only): `{ id, op: 'faults', partner,
 * rules }` replaces a sandbox's fault rules, `{ id, op: 'ledger', partner }` returns its request counts,
 * `{ id, op: 'webhooks', url, secrets }` points the sandboxes' webhooks at a subgraph (as `npm start` does).
 */
import pino from 'pino';
import { registerSandboxWebhooks } from '../../cli/dev/webhooks.js';
import type { ProviderName } from '../../domain/model.js';
import type { FaultRule } from '../../sandboxes/kit/sandbox.js';
import {
  plainEndpoints,
  startSandboxes,
  stopSandboxes,
  type SandboxesOptions,
} from '../../sandboxes/index.js';

type Control =
  | { id: number; op: 'faults' | 'ledger'; partner: ProviderName; rules?: FaultRule[] }
  | { id: number; op: 'webhooks'; url: string; secrets: Record<ProviderName, string[]> };

const options = JSON.parse(process.argv[2] ?? '{}') as SandboxesOptions;
const sandboxes = await startSandboxes(options);

process.on('message', (message) => {
  const control = message as Control;
  if (control.op === 'webhooks') {
    const logger = pino({ level: 'warn' });
    void registerSandboxWebhooks(sandboxes, control.secrets, control.url, logger).then(() =>
      process.send?.({ id: control.id, reply: true }),
    );
    return;
  }
  const { id, op, partner, rules } = control;
  const handle = sandboxes[partner]?.handle;
  if (!handle) return void process.send?.({ id, reply: null });
  if (op === 'faults') handle.setFaults(rules ?? []);
  process.send?.({ id, reply: op === 'ledger' ? handle.ledger().requests : true });
});
process.send?.({ endpoints: plainEndpoints(sandboxes) });

const stop = () => void stopSandboxes(sandboxes).finally(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('disconnect', stop);
