/**
 * A token bucket refilled continuously: `perMinute` tokens a minute, never more than `perMinute` held.
 * What budgets of refusals and of outbound calls are made of.
 */
export class TokenBucket {
  #tokens: number;
  #at: number | null = null;

  constructor(
    private readonly perMinute: number,
    private readonly now: () => number = () => Date.now(),
  ) {
    this.#tokens = perMinute;
  }

  /** Spends one token; false when none is left. */
  take(): boolean {
    if (!this.available()) return false;
    this.#tokens -= 1;
    return true;
  }

  /** Whether a token could be spent now, without spending it. */
  available(): boolean {
    const now = this.now();
    if (this.#at !== null)
      this.#tokens = Math.min(this.perMinute, this.#tokens + ((now - this.#at) / 60_000) * this.perMinute);
    this.#at = now;
    return this.#tokens >= 1;
  }
}
