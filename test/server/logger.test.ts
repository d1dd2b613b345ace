import { spawnSync } from 'node:child_process';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createLogger, redactDeep } from '../../server/logger.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { lines, logger: createLogger({ level: 'debug', destination }) };
}

describe('the logger', () => {
  it('redacts @pii fields and secrets at any depth of plain objects and arrays', () => {
    const { lines, logger } = capture();
    logger.info(
      {
        a: { b: { c: { d: [{ reference: 'Rent 12', accessToken: 'tok', amount: '1.00' }] } } },
        description: 'Coffee',
      },
      'deep',
    );
    expect(lines[0]).toMatchObject({
      a: { b: { c: { d: [{ reference: '[redacted]', accessToken: '[redacted]', amount: '1.00' }] } } },
      description: '[redacted]',
    });
  });

  it("redacts secrets an error carries, after pino's error serializer", () => {
    const { lines, logger } = capture();
    const error = Object.assign(new Error('boom'), { token: 'secret-token', code: 'PARTNER_UNAVAILABLE' });
    logger.warn({ err: error }, 'failed');
    expect(lines[0]?.err).toMatchObject({
      message: 'boom',
      token: '[redacted]',
      code: 'PARTNER_UNAVAILABLE',
    });
  });

  it('redacts secrets of an error under any key, deep in the line, and of its cause', () => {
    const { lines, logger } = capture();
    const cause = Object.assign(new Error('upstream'), { accessToken: 'at-1' });
    const error = Object.assign(new Error('wrapped', { cause }), {
      config: { headers: { authorization: 'Bearer abc', accept: 'application/json' } },
    });
    logger.error({ attempt: { failure: error }, err: new Error('plain') }, 'partner call failed');
    const failure = (lines[0]?.attempt as { failure: Record<string, unknown> }).failure;
    expect(failure).toMatchObject({
      type: 'Error',
      message: 'wrapped',
      config: { headers: { authorization: '[redacted]', accept: 'application/json' } },
      cause: { accessToken: '[redacted]' },
    });
    expect(String(failure.stack)).toContain('wrapped');
    expect(lines[0]?.err).toMatchObject({ type: 'Error', message: 'plain' });
    expect(JSON.stringify(lines[0])).not.toMatch(/Bearer abc|at-1/);
  });

  it('leaves an error with nothing to redact to pino, and an object with nothing to redact as it is', () => {
    const error = Object.assign(new Error('boom'), { code: 'X' });
    expect(redactDeep({ err: error }, new Set(['secret']))).toEqual({ err: error });
    expect(redactDeep(error, new Set(['secret']))).toBe(error);
  });

  it('leaves an object with nothing to redact as it is, without copying it', () => {
    const value = { a: { b: [1, { c: 'x' }] } };
    expect(redactDeep(value, new Set(['secret']))).toBe(value);
  });

  it('writes every line to standard output before the process exits, though it writes asynchronously', () => {
    const logger = fileURLToPath(new URL('../../server/logger.ts', import.meta.url));
    const script = `
      const { createLogger } = await import(${JSON.stringify(logger)});
      const log = createLogger({ level: 'info', piiFields: [] });
      for (let i = 0; i < 5000; i++) log.info({ i, token: 'secret-' + i }, 'line');
      process.exit(0);`;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
    });
    expect(child.status).toBe(0);
    const lines = child.stdout.split('\n').filter(Boolean);
    expect(lines).toHaveLength(5000);
    expect(JSON.parse(lines[4999]!)).toMatchObject({ i: 4999, token: '[redacted]' });
  });
});
