import { startSandboxes, stopSandboxes } from '../sandboxes/index.js';

export async function runSandboxes(options: { port?: string[] }): Promise<void> {
  const ports: Record<string, number> = {};
  for (const entry of options.port ?? []) {
    const [partner, port] = entry.split('=');
    if (!partner || !port || !/^\d{1,5}$/.test(port)) {
      process.stderr.write(`--port takes partner=port, e.g. openbanking=4101 (got "${entry}")\n`);
      process.exit(2);
    }
    ports[partner] = Number(port);
  }
  const sandboxes = await startSandboxes({ ports });
  for (const [name, sandbox] of Object.entries(sandboxes)) {
    if (!sandbox) continue;
    process.stdout.write(`${name.padEnd(12)} ${sandbox.handle.url}  (client ${sandbox.clientId})\n`);
    if (sandbox.tls) {
      const { certFile, keyFile, caFile } = sandbox.tls;
      process.stdout.write(
        `${''.padEnd(12)} mutual TLS: --cert ${certFile} --key ${keyFile} --cacert ${caFile}\n`,
      );
    }
  }
  process.stdout.write('ledger: GET <url>/__sandbox/ledger   faults: POST <url>/__sandbox/faults\n');
  const stop = () => {
    void stopSandboxes(sandboxes).then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
