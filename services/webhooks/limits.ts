/**
 * Guards in front of verification: a per-partner token bucket for refused deliveries, and the optional
 * per-partner source allow-list (a compensating control where a partner signs weakly).
 */
import { BlockList } from 'node:net';
import type { ProviderName } from '../../domain/model.js';
import { parseCidr } from '../../domain/cidr.js';
import { TokenBucket } from '../../domain/token-bucket.js';

/**
 * Refusals allowed per partner: `perMinute` tokens, refilled continuously. Verified deliveries never
 * spend tokens, so a flood of forgeries cannot lock a partner's real deliveries out; it only stops
 * costing us logs and work beyond the budget (answered 429).
 */
export class RejectionBudget {
  readonly #buckets = new Map<ProviderName, TokenBucket>();

  constructor(
    private readonly perMinute: number,
    private readonly now: () => number = () => Date.now(),
  ) {}

  /** Spends one token; false when the partner's budget is used up. */
  spend(partner: ProviderName): boolean {
    return this.#bucket(partner).take();
  }

  /** Whether a refusal could still be afforded now, without spending: the gate of outbound calls. */
  available(partner: ProviderName): boolean {
    return this.#bucket(partner).available();
  }

  #bucket(partner: ProviderName): TokenBucket {
    let bucket = this.#buckets.get(partner);
    if (!bucket) this.#buckets.set(partner, (bucket = new TokenBucket(this.perMinute, this.now)));
    return bucket;
  }
}

/**
 * Which refusals are logged: the first `perMinute` of a partner in each minute, then one in `every`,
 * each carrying how many were left out since the last one logged. A flood of forgeries costs a few
 * log lines a minute, and still shows.
 */
export class LogSampler {
  readonly #state = new Map<ProviderName, { minute: number; logged: number; skipped: number }>();

  constructor(
    private readonly perMinute = 10,
    private readonly every = 100,
    private readonly now: () => number = () => Date.now(),
  ) {}

  /** Null when this one is left out; otherwise how many were left out before it. */
  take(partner: ProviderName): { suppressed: number } | null {
    const minute = Math.floor(this.now() / 60_000);
    let state = this.#state.get(partner);
    if (!state || state.minute !== minute) {
      state = { minute, logged: 0, skipped: state?.skipped ?? 0 };
      this.#state.set(partner, state);
    }
    if (state.logged < this.perMinute || state.skipped + 1 >= this.every) {
      const suppressed = state.skipped;
      state.logged += 1;
      state.skipped = 0;
      return { suppressed };
    }
    state.skipped += 1;
    return null;
  }
}

/** Per-partner source allow-lists; a partner without one accepts any source. */
export class SourceAllowList {
  readonly #lists = new Map<ProviderName, BlockList>();

  constructor(cidrs: Partial<Record<ProviderName, readonly string[]>>) {
    for (const [partner, blocks] of Object.entries(cidrs) as [ProviderName, readonly string[]][]) {
      if (blocks.length === 0) continue;
      const list = new BlockList();
      for (const block of blocks) {
        const parsed = parseCidr(block);
        if (!parsed) throw new Error(`Invalid CIDR block "${block}" for ${partner}.`);
        list.addSubnet(parsed[0], parsed[1], parsed[2]);
      }
      this.#lists.set(partner, list);
    }
  }

  allows(partner: ProviderName, address: string): boolean {
    const list = this.#lists.get(partner);
    if (!list) return true;
    // IPv4 clients on a dual-stack socket show up as ::ffff:a.b.c.d.
    const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
    if (v4) return list.check(v4, 'ipv4');
    return list.check(address, address.includes(':') ? 'ipv6' : 'ipv4');
  }
}
