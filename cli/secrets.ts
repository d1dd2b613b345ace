/**
 * `tributary secrets rotate`: after a new key was put first in SECRETS_KEY (`new:...,old:...`), reseals
 * every partner credential still under an older key, in batches, with a progress bar on stderr and a
 * summary. Serving replicas keep reading throughout: both keys are in their ring, and each batch
 * commits on its own. The old key can leave the ring once the summary says nothing is left under it.
 */
import cliProgress from 'cli-progress';
import { openConfiguredDatabase } from '../server/wiring.js';
import { ConsentRepository } from '../store/consents.js';
import { parseKeyRing, SecretBox } from '../store/secrets.js';
import { configOrExit } from './common.js';
import { refuseWhileServing, runningServer } from './server-owner.js';

export async function runSecretsRotate(options: { batchSize: string }): Promise<void> {
  const batchSize = Number(options.batchSize);
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) {
    process.stderr.write('--batch-size: a whole number from 1 to 10000\n');
    process.exit(2);
  }
  const config = configOrExit();
  // No API does this: resealing needs the database itself, which a running server holds.
  const owner = await runningServer(config);
  if (owner) refuseWhileServing(owner, 'secrets rotate');
  const box = new SecretBox(parseKeyRing(config.secretsKey));
  const db = await openConfiguredDatabase(config);
  try {
    const consents = new ConsentRepository(db, box);
    const total = await consents.countNotUnderCurrentKey();
    const bar = new cliProgress.SingleBar(
      {
        format: 'resealing [{bar}] {value}/{total} credentials',
        stream: process.stderr,
        noTTYOutput: true,
        notTTYSchedule: 2_000,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0);
    const result = await consents.resealCredentials(batchSize, (sofar) =>
      bar.update(Math.min(total, sofar.resealed + sofar.unreadable)),
    );
    bar.stop();
    const left = await consents.countNotUnderCurrentKey();
    process.stdout.write(
      `resealed ${result.resealed} credential(s) under key ${box.currentKeyId}; ` +
        `${result.unreadable.length} unreadable; ${left} still under older keys\n`,
    );
    for (const id of result.unreadable)
      process.stdout.write(
        `  unreadable: consent ${id} (tampered, or sealed under a key no longer in the ring)\n`,
      );
    if (left > result.unreadable.length)
      process.stdout.write('  some rows were busy (a token refresh held them): run the command again\n');
    process.exitCode = left > 0 ? 1 : 0;
  } finally {
    await db.close();
  }
}
