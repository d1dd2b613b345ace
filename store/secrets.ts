/**
 * Secrets at rest (DESIGN §8): AES-256-GCM under a key ring whose key ids make rotation possible.
 *
 * A sealed secret is one printable string, `v1.<keyId>.<iv>.<tag>.<ciphertext>` (base64url parts), so
 * it names the key that sealed it: after a new key becomes current, rows sealed with an older key
 * still open as long as that key stays in the ring. The caller's `aad` (for example
 * `consent:<id>:<subject>`) is authenticated but not stored, which ties a ciphertext to its row: moved
 * to another row, it no longer opens.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/** Keys by id; `current` seals, every key opens. */
export interface KeyRing {
  current: string;
  keys: Record<string, Buffer>;
}

/** A sealed secret could not be opened, or a key ring is unusable. The message never holds key bytes. */
export class SecretBoxError extends Error {
  override readonly name = 'SecretBoxError';
}

const VERSION = 'v1';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_ID = /^[A-Za-z0-9_-]{1,64}$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const BASE64URL = /^[A-Za-z0-9_-]*$/;

/**
 * Parses the `SECRETS_KEY` format `kid1:<base64 of 32 bytes>,kid2:<base64>`; the first key is current.
 * Every problem is reported by key position and id, never by key material.
 */
export function parseKeyRing(text: string): KeyRing {
  const entries = text
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0);
  if (entries.length === 0)
    throw new SecretBoxError('The key ring is empty: expected "kid:<base64 key>,...".');
  const keys: Record<string, Buffer> = {};
  let current: string | undefined;
  entries.forEach((entry, index) => {
    const colon = entry.indexOf(':');
    const where = `key ${index + 1}`;
    if (colon <= 0) throw new SecretBoxError(`The key ring's ${where} is not "kid:<base64 key>".`);
    const keyId = entry.slice(0, colon).trim();
    const encoded = entry.slice(colon + 1).trim();
    if (!KEY_ID.test(keyId)) {
      throw new SecretBoxError(`The key ring's ${where} has an invalid id: use 1-64 of A-Z a-z 0-9 _ -.`);
    }
    if (keyId in keys) throw new SecretBoxError(`The key ring names key id "${keyId}" twice.`);
    if (!BASE64.test(encoded)) throw new SecretBoxError(`Key "${keyId}" is not valid base64.`);
    const key = Buffer.from(encoded, 'base64');
    if (key.length !== KEY_BYTES) {
      throw new SecretBoxError(`Key "${keyId}" is ${key.length} bytes; AES-256 needs exactly ${KEY_BYTES}.`);
    }
    keys[keyId] = key;
    current ??= keyId;
  });
  return { current: current as string, keys };
}

/** A fresh random key ring entry in the `SECRETS_KEY` format, for operators rotating keys. */
export function generateKeyRingEntry(keyId: string): string {
  if (!KEY_ID.test(keyId)) throw new SecretBoxError(`Invalid key id "${keyId}".`);
  return `${keyId}:${randomBytes(KEY_BYTES).toString('base64')}`;
}

/** Seals and opens secrets with AES-256-GCM; see the module comment for the format. */
export class SecretBox {
  readonly #keys: Map<string, Buffer>;
  readonly #current: string;

  constructor(ring: KeyRing) {
    this.#keys = new Map();
    for (const [keyId, key] of Object.entries(ring.keys)) {
      if (!KEY_ID.test(keyId)) throw new SecretBoxError(`Invalid key id "${keyId}".`);
      if (key.length !== KEY_BYTES) {
        throw new SecretBoxError(
          `Key "${keyId}" is ${key.length} bytes; AES-256 needs exactly ${KEY_BYTES}.`,
        );
      }
      this.#keys.set(keyId, Buffer.from(key));
    }
    if (!this.#keys.has(ring.current)) {
      throw new SecretBoxError(`The current key "${ring.current}" is not in the key ring.`);
    }
    this.#current = ring.current;
  }

  /** The id new secrets are sealed with. */
  get currentKeyId(): string {
    return this.#current;
  }

  /** Seals `plaintext` under the current key, bound to `aad`; a fresh random IV every call. */
  seal(plaintext: string, aad: string): string {
    const key = this.#keys.get(this.#current) as Buffer;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(associatedData(this.#current, aad));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const parts = [iv, cipher.getAuthTag(), ciphertext].map((part) => part.toString('base64url'));
    return [VERSION, this.#current, ...parts].join('.');
  }

  /** Opens a sealed secret with the key it names. Throws SecretBoxError when it cannot be trusted. */
  open(sealed: string, aad: string): string {
    const { keyId, iv, tag, ciphertext } = parseSealed(sealed);
    const key = this.#keys.get(keyId);
    if (!key)
      throw new SecretBoxError(`The secret was sealed with key "${keyId}", which is not in the key ring.`);
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(associatedData(keyId, aad));
    decipher.setAuthTag(tag);
    try {
      return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretBoxError(
        'The sealed secret failed authentication: it was altered or belongs to another record.',
      );
    }
  }

  /** The key id a sealed secret names, without opening it (to find rows needing re-encryption). */
  keyIdOf(sealed: string): string {
    return parseSealed(sealed).keyId;
  }
}

/** The header is authenticated too, so a token cannot be relabelled with another version or key id. */
function associatedData(keyId: string, aad: string): Buffer {
  return Buffer.from(`${VERSION}.${keyId}.${aad}`, 'utf8');
}

function parseSealed(sealed: string): { keyId: string; iv: Buffer; tag: Buffer; ciphertext: Buffer } {
  const parts = sealed.split('.');
  const [version, keyId, iv, tag, ciphertext] = parts;
  if (parts.length !== 5 || version !== VERSION || keyId === undefined || !KEY_ID.test(keyId)) {
    throw new SecretBoxError(`Not a sealed secret: expected "${VERSION}.<keyId>.<iv>.<tag>.<ciphertext>".`);
  }
  const decoded = [iv, tag, ciphertext].map((part) => {
    if (part === undefined || !BASE64URL.test(part))
      throw new SecretBoxError('The sealed secret is not valid base64url.');
    return Buffer.from(part, 'base64url');
  }) as [Buffer, Buffer, Buffer];
  if (decoded[0].length !== IV_BYTES || decoded[1].length !== TAG_BYTES) {
    throw new SecretBoxError('The sealed secret has a malformed IV or authentication tag.');
  }
  return { keyId, iv: decoded[0], tag: decoded[1], ciphertext: decoded[2] };
}
