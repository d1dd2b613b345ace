/** CIDR blocks, as operators write them in allow-lists (`10.0.0.0/8`, `2001:db8::/32`, a bare address). */
import { isIP } from 'node:net';

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
