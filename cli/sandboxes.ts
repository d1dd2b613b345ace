import { startSandboxes, stopSandboxes } from '../sandboxes/index.js';

export async function runSandboxes(options: { openbankingPort: string }): Promise<void> {
  const sandboxes = await startSandboxes({ ports: { openbanking: Number(options.openbankingPort) } });
  for (const [name, sandbox] of Object.entries(sandboxes)) {
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
