/**
 * The local certificate authority of development and tests: a CA, a server certificate for the
 * sandboxes (SAN localhost, 127.0.0.1, ::1) and a client certificate for Tributary, so the Open
 * Banking sandbox can demand mutual TLS the way a bank does; and Tributary's message-signing key (RSA,
 * for PS256), with which it signs its Open Banking payment requests and which the sandbox trusts.
 *
 * `ensureLocalTls(dir)` generates the set on first use and reuses it afterwards (npm start keeps it
 * in `<TRIBUTARY_DATA_DIR>/tls/`); private keys are written 0600 in a 0700 directory. A set that is
 * incomplete, unreadable, not issued by its CA, or close to expiry is generated again. Concurrent
 * callers (test workers) serialise on a lock directory, so they all end with the same files.
 */
import { createPrivateKey, generateKeyPairSync, KeyObject, webcrypto, X509Certificate } from 'node:crypto';
import { chmod, mkdir, readFile, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** Where each PEM file of a set lives. */
export interface TlsFiles {
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** Tributary's request-signing key (PKCS#8 PEM, RSA 2048). */
  signingKey: string;
}

/** A CA with one server and one client certificate, as PEM. */
export interface TlsMaterial {
  ca: string;
  server: { cert: string; key: string };
  client: { cert: string; key: string };
  /** Tributary's message-signing private key (PKCS#8 PEM, RSA 2048, for PS256). */
  signingKey: string;
}

/** A set kept on disk. */
export interface LocalTls extends TlsMaterial {
  dir: string;
  files: TlsFiles;
}

const FILE_NAMES: TlsFiles = {
  ca: 'ca.pem',
  serverCert: 'server.pem',
  serverKey: 'server-key.pem',
  clientCert: 'client.pem',
  clientKey: 'client-key.pem',
  signingKey: 'signing-key.pem',
};
const DAY = 86_400_000;
/** A set expiring sooner than this is replaced rather than reused. */
const RENEW_BEFORE_MS = 7 * DAY;
const LOCK_STALE_MS = 60_000;
const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/** Generates a fresh set in memory (tests use one as "another CA"). */
export async function generateTlsMaterial(
  options: { label?: string; now?: Date } = {},
): Promise<TlsMaterial> {
  const x509 = await loadX509();
  const label = options.label ?? 'Tributary local';
  const notBefore = new Date((options.now ?? new Date()).getTime() - DAY);
  const crypto = webcrypto as never;
  const caKeys = (await webcrypto.subtle.generateKey(EC, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const ca = await x509.X509CertificateGenerator.createSelfSigned(
    {
      name: `CN=${label} CA, O=Tributary development`,
      keys: caKeys,
      signingAlgorithm: EC,
      notBefore,
      notAfter: new Date(notBefore.getTime() + 5 * 365 * DAY),
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  const leaf = async (commonName: string, usage: string, names: { type: 'dns' | 'ip'; value: string }[]) => {
    const keys = (await webcrypto.subtle.generateKey(EC, true, [
      'sign',
      'verify',
    ])) as webcrypto.CryptoKeyPair;
    const cert = await x509.X509CertificateGenerator.create(
      {
        subject: `CN=${commonName}, O=Tributary development`,
        issuer: ca.subject,
        publicKey: keys.publicKey,
        signingKey: caKeys.privateKey,
        signingAlgorithm: EC,
        notBefore,
        notAfter: new Date(notBefore.getTime() + 2 * 365 * DAY),
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
          new x509.ExtendedKeyUsageExtension([usage], false),
          await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey, false, crypto),
          ...(names.length > 0 ? [new x509.SubjectAlternativeNameExtension(names, false)] : []),
        ],
      },
      crypto,
    );
    return { cert: cert.toString('pem'), key: pemKey(keys.privateKey) };
  };
  return {
    ca: ca.toString('pem'),
    server: await leaf('localhost', x509.ExtendedKeyUsage.serverAuth, [
      { type: 'dns', value: 'localhost' },
      { type: 'ip', value: '127.0.0.1' },
      { type: 'ip', value: '::1' },
    ]),
    client: await leaf(`${label} client`, x509.ExtendedKeyUsage.clientAuth, []),
    signingKey: generateKeyPairSync('rsa', { modulusLength: 2048 })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString(),
  };
}

/** The set in `dir`: reused when it is complete and valid, generated (and written) otherwise. */
export async function ensureLocalTls(dir: string, options: { now?: Date } = {}): Promise<LocalTls> {
  const files = filesIn(dir);
  const now = options.now ?? new Date();
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const release = await lock(join(dir, '.lock'));
  try {
    const existing = await readSet(files, now);
    if (existing) return { dir, files, ...existing };
    const material = await generateTlsMaterial({ now });
    await writeSet(files, material);
    return { dir, files, ...material };
  } finally {
    await release();
  }
}

let shared: Promise<LocalTls> | null = null;

/**
 * The set sandboxes use when nobody passes one (tests, `tributary sandboxes` without a data dir): one
 * per OS user under the temp directory, shared by every process so a configured client and a sandbox
 * started elsewhere agree.
 */
export function sharedSandboxTls(): Promise<LocalTls> {
  shared ??= ensureLocalTls(join(tmpdir(), `tributary-sandbox-tls-${safeUser()}`)).catch((error: unknown) => {
    shared = null;
    throw error;
  });
  return shared;
}

/** The file paths of a set in `dir`. */
export function filesIn(dir: string): TlsFiles {
  const entries = Object.entries(FILE_NAMES).map(([key, name]) => [key, join(dir, name)]);
  return Object.fromEntries(entries) as unknown as TlsFiles;
}

async function readSet(files: TlsFiles, now: Date): Promise<TlsMaterial | null> {
  try {
    const [ca, serverCert, serverKey, clientCert, clientKey, signingKey] = await Promise.all(
      [files.ca, files.serverCert, files.serverKey, files.clientCert, files.clientKey, files.signingKey].map(
        (file) => readFile(file, 'utf8'),
      ),
    );
    const material = {
      ca: ca!,
      server: { cert: serverCert!, key: serverKey! },
      client: { cert: clientCert!, key: clientKey! },
      signingKey: signingKey!,
    };
    return usable(material, now) ? material : null;
  } catch {
    return null;
  }
}

/** Parses, checks the chain, key pairs and expiry. */
function usable(material: TlsMaterial, now: Date): boolean {
  try {
    const ca = new X509Certificate(material.ca);
    const horizon = now.getTime() + RENEW_BEFORE_MS;
    if (Date.parse(ca.validTo) < horizon) return false;
    const signing = createPrivateKey(material.signingKey);
    if (signing.asymmetricKeyType !== 'rsa' || (signing.asymmetricKeyDetails?.modulusLength ?? 0) < 2048)
      return false;
    return [material.server, material.client].every(({ cert, key }) => {
      const leaf = new X509Certificate(cert);
      return (
        leaf.checkIssued(ca) &&
        leaf.verify(ca.publicKey) &&
        leaf.checkPrivateKey(createPrivateKey(key)) &&
        Date.parse(leaf.validTo) >= horizon
      );
    });
  } catch {
    return false;
  }
}

async function writeSet(files: TlsFiles, material: TlsMaterial): Promise<void> {
  const writes: [string, string, number][] = [
    [files.ca, material.ca, 0o644],
    [files.serverCert, material.server.cert, 0o644],
    [files.serverKey, material.server.key, 0o600],
    [files.clientCert, material.client.cert, 0o644],
    [files.clientKey, material.client.key, 0o600],
    [files.signingKey, material.signingKey, 0o600],
  ];
  for (const [file, pem, mode] of writes) {
    // Written aside then renamed: a reader never sees half a key, and the mode is set before the rename.
    const temporary = `${file}.${process.pid}.tmp`;
    await writeFile(temporary, pem, { mode });
    await chmod(temporary, mode);
    await rename(temporary, file);
  }
}

/** A lock directory; a lock older than LOCK_STALE_MS is taken over (its holder died). */
async function lock(path: string): Promise<() => Promise<void>> {
  const deadline = Date.now() + 2 * LOCK_STALE_MS;
  for (;;) {
    try {
      await mkdir(path, { mode: 0o700 });
      return async () => {
        await rmdir(path).catch(() => undefined);
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const since = await stat(path).then(
        (info) => Date.now() - info.mtimeMs,
        () => 0,
      );
      if (since > LOCK_STALE_MS) await rm(path, { recursive: true, force: true });
      else if (Date.now() > deadline) throw new Error(`timed out waiting for ${path}`);
      else await sleep(50);
    }
  }
}

function pemKey(key: webcrypto.CryptoKey): string {
  return KeyObject.from(key).export({ type: 'pkcs8', format: 'pem' }).toString();
}

function safeUser(): string {
  try {
    return userInfo().username.replace(/[^A-Za-z0-9_-]/g, '_') || String(process.getuid?.() ?? 'user');
  } catch {
    return String(process.getuid?.() ?? 'user');
  }
}

/**
 * @peculiar/x509 resolves its services through tsyringe, which needs the Reflect metadata API. The
 * package manifest has no polyfill, so the few functions tsyringe and TypeScript's decorator metadata
 * call are provided here, before the library is loaded (a real polyfill, if present, is kept).
 */
async function loadX509() {
  installReflectMetadata();
  return import('@peculiar/x509');
}

type MetadataTable = Map<unknown, unknown>;

function installReflectMetadata(): void {
  const reflect = Reflect as unknown as Record<string, unknown>;
  if (typeof reflect.getMetadata === 'function') return;
  const tables = new WeakMap<object, Map<PropertyKey | undefined, MetadataTable>>();
  const table = (target: object, key: PropertyKey | undefined, create: boolean) => {
    let byKey = tables.get(target);
    if (!byKey && create) tables.set(target, (byKey = new Map()));
    let found = byKey?.get(key);
    if (!found && create && byKey) byKey.set(key, (found = new Map()));
    return found;
  };
  const define = (name: unknown, value: unknown, target: object, key?: PropertyKey) => {
    table(target, key, true)!.set(name, value);
  };
  const own = (name: unknown, target: object, key?: PropertyKey) => table(target, key, false)?.get(name);
  const find = (name: unknown, target: object, key?: PropertyKey) => {
    for (let at: object | null = target; at; at = Object.getPrototypeOf(at) as object | null) {
      const found = table(at, key, false);
      if (found?.has(name)) return found.get(name);
    }
    return undefined;
  };
  Object.assign(reflect, {
    defineMetadata: define,
    getOwnMetadata: own,
    getMetadata: find,
    hasMetadata: (name: unknown, target: object, key?: PropertyKey) => find(name, target, key) !== undefined,
    hasOwnMetadata: (name: unknown, target: object, key?: PropertyKey) =>
      own(name, target, key) !== undefined,
    metadata: (name: unknown, value: unknown) => (target: object, key?: PropertyKey) =>
      define(name, value, target, key),
  });
}
