/**
 * Building blocks of the environment schema (config.ts and its partner and webhook sections): typed,
 * range-checked numbers, optional text and URLs, comma lists and CIDR lists.
 */
import { z } from 'zod';
import { parseCidr } from '../domain/cidr.js';

export { parseCidr };

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
