/**
 * Building blocks of environment schemas, shared by the core configuration (server/config.ts) and the
 * partner modules' env sections (env.ts): typed, range-checked numbers, optional text and URLs, comma
 * lists and CIDR lists. An empty value counts as unset.
 */
import { z } from 'zod';
import { parseCidr } from '../domain/cidr.js';

/** An integer in [min, max], `fallback` when unset. */
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
const optionalNumber = optionalText.transform((value) => (value === undefined ? undefined : Number(value)));

/** A number with no default: unset stays undefined (a partner override of a process-wide default). */
export const optionalInt = (min: number, max: number) =>
  optionalNumber.pipe(z.number().int().min(min).max(max).optional());
export const optionalRatio = optionalNumber.pipe(z.number().gt(0).lt(1).optional());

/** Comma list of CIDR blocks (IPv4 or IPv6), each checked at boot. */
export const cidrList = list.pipe(
  z.array(
    z
      .string()
      .refine((value) => parseCidr(value) !== null, { message: 'not a CIDR block (e.g. 10.0.0.0/8)' }),
  ),
);
