/**
 * The client side of Open Banking's mutual TLS: the certificate and key Tributary presents, and the
 * CA it trusts for the bank's server certificate, loaded from PEM files (production: the
 * OPENBANKING_TLS_* variables; development: the local CA set the sandboxes were started with).
 * Loaded once when the provider is built, and checked then, so a wrong file stops the boot rather
 * than the first payment.
 */
import { readFileSync } from 'node:fs';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import type { PartnerTlsFiles } from '../module.js';
import type { PartnerTls } from '../http.js';

/** Reads and checks the files; throws an Error naming the file that is wrong. */
export function loadClientTls(files: PartnerTlsFiles, now: Date = new Date()): PartnerTls {
  const cert = read(files.certFile, 'client certificate');
  const key = read(files.keyFile, 'client key');
  const ca = files.caFile === null ? undefined : read(files.caFile, 'CA certificate');
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(cert);
  } catch {
    throw new Error(`Open Banking TLS: ${files.certFile} is not a PEM certificate.`);
  }
  let matches = false;
  try {
    matches = certificate.checkPrivateKey(createPrivateKey(key));
  } catch {
    throw new Error(`Open Banking TLS: ${files.keyFile} is not a PEM private key.`);
  }
  if (!matches) throw new Error(`Open Banking TLS: ${files.keyFile} is not the key of ${files.certFile}.`);
  if (Date.parse(certificate.validTo) <= now.getTime()) {
    throw new Error(`Open Banking TLS: ${files.certFile} expired on ${certificate.validTo}.`);
  }
  if (ca !== undefined) {
    try {
      new X509Certificate(ca);
    } catch {
      throw new Error(`Open Banking TLS: ${files.caFile} is not a PEM certificate.`);
    }
  }
  return { cert, key, ...(ca === undefined ? {} : { ca }) };
}

function read(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(`Open Banking TLS: cannot read the ${what} at ${file}.`, { cause: error });
  }
}
