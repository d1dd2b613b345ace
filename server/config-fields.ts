/**
 * Building blocks of the environment schema (config.ts and its partner and webhook sections): typed,
 * range-checked numbers, optional text and URLs, comma lists and CIDR lists.
 */
import { isIP } from 'node:net';
import { z } from 'zod';

export const int = (fallback: number, min: number, max: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

export const optionalText = z
  .string()
  .trim()
  .optional()
  .transform((value) => (value === undefined || value === '' ? undefined : value));
export const optionalUrl = optionalText.pipe(z.url().optional());
export const list = optionalText.transform((value) =>
  value === undefined
    ? []
    : value
        .split(',')
        .map((item) => item.trim())
        .filter(Boolean),
);

/** Comma list of CIDR blocks (IPv4 or IPv6), each checked at boot. */
export const cidrList = list.pipe(
  z.array(
    z
      .string()
      .refine((value) => parseCidr(value) !== null, { message: 'not a CIDR block (e.g. 10.0.0.0/8)' }),
  ),
);

/** `addr/prefix` as [address, prefix, family]; null when malformed. */
export function parseCidr(value: string): [string, number, 'ipv4' | 'ipv6'] | null {
  const [address, prefixText, extra] = value.split('/');
  const family = address ? isIP(address) : 0;
  if (!address || extra !== undefined || family === 0) return null;
  const max = family === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (
    !Number.isInteger(prefix) ||
    prefix < 0 ||
    prefix > max ||
    (prefixText !== undefined && !/^\d+$/.test(prefixText))
  )
    return null;
  return [address, prefix, family === 4 ? 'ipv4' : 'ipv6'];
}
