/**
 * A small rolling picture of one partner for operators (the `partnerHealth` query): attempts and
 * failures over the last minute, when the last failure happened, and latency percentiles.
 *
 * Counts live in one-second buckets, so recording is O(1) and nothing grows with traffic; latencies
 * are kept in a fixed ring of the most recent samples, which is what the percentiles are computed
 * from when an operator asks (rarely), never on the request path.
 */

/** What `partnerHealth` shows for one partner, apart from the breaker state. */
export interface HealthSnapshot {
  /** Failed attempts / attempts over the window; null when there were none. */
  errorRate: number | null;
  requestsLastMinute: number;
  lastErrorAt: Date | null;
  latencyP50Ms: number | null;
  latencyP95Ms: number | null;
  latencyP99Ms: number | null;
}

const WINDOW_SECONDS = 60;
/** Enough samples for a stable p99 at a few hundred calls a minute; older samples fall out. */
const LATENCY_SAMPLES = 2048;

export class HealthWindow {
  private readonly second = new Float64Array(WINDOW_SECONDS);
  private readonly calls = new Uint32Array(WINDOW_SECONDS);
  private readonly failures = new Uint32Array(WINDOW_SECONDS);
  private readonly sampleAt = new Float64Array(LATENCY_SAMPLES);
  private readonly sampleMs = new Float64Array(LATENCY_SAMPLES);
  private next = 0;
  private lastErrorAt: number | null = null;

  constructor(private readonly now: () => number = Date.now) {}

  /** One attempt against the partner: how long it took and whether the partner failed it. */
  record(ms: number, failed: boolean): void {
    const at = this.now();
    const second = Math.floor(at / 1000);
    const slot = second % WINDOW_SECONDS;
    if (this.second[slot] !== second) {
      this.second[slot] = second;
      this.calls[slot] = 0;
      this.failures[slot] = 0;
    }
    this.calls[slot]! += 1;
    if (failed) {
      this.failures[slot]! += 1;
      this.lastErrorAt = at;
    }
    this.sampleAt[this.next] = at;
    this.sampleMs[this.next] = ms;
    this.next = (this.next + 1) % LATENCY_SAMPLES;
  }

  snapshot(): HealthSnapshot {
    const at = this.now();
    const current = Math.floor(at / 1000);
    let calls = 0;
    let failures = 0;
    for (let slot = 0; slot < WINDOW_SECONDS; slot++) {
      if (current - this.second[slot]! < WINDOW_SECONDS) {
        calls += this.calls[slot]!;
        failures += this.failures[slot]!;
      }
    }
    const recent: number[] = [];
    for (let index = 0; index < LATENCY_SAMPLES; index++) {
      const sampledAt = this.sampleAt[index]!;
      if (sampledAt > 0 && at - sampledAt < WINDOW_SECONDS * 1000) recent.push(this.sampleMs[index]!);
    }
    recent.sort((a, b) => a - b);
    return {
      errorRate: calls === 0 ? null : failures / calls,
      requestsLastMinute: calls,
      lastErrorAt: this.lastErrorAt === null ? null : new Date(this.lastErrorAt),
      latencyP50Ms: percentile(recent, 0.5),
      latencyP95Ms: percentile(recent, 0.95),
      latencyP99Ms: percentile(recent, 0.99),
    };
  }
}

/** Nearest-rank percentile of sorted values; null for none. */
function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.max(0, Math.ceil(p * sorted.length) - 1);
  return Math.round(sorted[rank]! * 10) / 10;
}

/** One minute of calls to a partner, for the operations console's latency chart. */
export interface MinuteBucket {
  /** The start of the minute. */
  minute: Date;
  calls: number;
  errors: number;
  /** Latency percentiles of the minute's sampled calls; null when there were none. */
  p50Ms: number | null;
  p99Ms: number | null;
}

const HISTORY_MINUTES = 60;
/** Latency samples kept per minute (a ring: later calls of a busy minute replace earlier ones). */
const SAMPLES_PER_MINUTE = 256;

/**
 * The last hour of calls per minute: counts and a bounded latency sample per minute, in a ring of
 * sixty buckets, so memory stays fixed (about 120 KB per partner) whatever the traffic.
 */
export class MinuteSeries {
  private readonly minute = new Float64Array(HISTORY_MINUTES).fill(-1);
  private readonly calls = new Uint32Array(HISTORY_MINUTES);
  private readonly errors = new Uint32Array(HISTORY_MINUTES);
  private readonly samples = new Float64Array(HISTORY_MINUTES * SAMPLES_PER_MINUTE);

  constructor(private readonly now: () => number = Date.now) {}

  record(ms: number, failed: boolean): void {
    const minute = Math.floor(this.now() / 60_000);
    const slot = minute % HISTORY_MINUTES;
    if (this.minute[slot] !== minute) {
      this.minute[slot] = minute;
      this.calls[slot] = 0;
      this.errors[slot] = 0;
    }
    const index = this.calls[slot]! % SAMPLES_PER_MINUTE;
    this.samples[slot * SAMPLES_PER_MINUTE + index] = ms;
    this.calls[slot]! += 1;
    if (failed) this.errors[slot]! += 1;
  }

  /** Every minute of the last hour, oldest first (minutes without calls included, with zero calls). */
  buckets(): MinuteBucket[] {
    const current = Math.floor(this.now() / 60_000);
    const out: MinuteBucket[] = [];
    for (let minute = current - HISTORY_MINUTES + 1; minute <= current; minute++) {
      const slot = minute % HISTORY_MINUTES;
      const calls = this.minute[slot] === minute ? this.calls[slot]! : 0;
      const taken = Math.min(calls, SAMPLES_PER_MINUTE);
      const start = slot * SAMPLES_PER_MINUTE;
      const sorted = Array.from(this.samples.subarray(start, start + taken)).sort((a, b) => a - b);
      out.push({
        minute: new Date(minute * 60_000),
        calls,
        errors: calls === 0 ? 0 : this.errors[slot]!,
        p50Ms: percentile(sorted, 0.5),
        p99Ms: percentile(sorted, 0.99),
      });
    }
    return out;
  }
}
