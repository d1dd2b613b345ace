/**
 * The connection-level parts of PartnerHttp: the TLS context of a partner's pool and the abort
 * signal of one attempt.
 */
import { createSecureContext, type ConnectionOptions } from 'node:tls';

/** TLS material for mutual TLS with a partner (PEM). */
export type PartnerTls = Pick<ConnectionOptions, 'ca' | 'cert' | 'key' | 'servername'>;

/**
 * The TLS options of a partner's connections. The material becomes one secure context, built once:
 * without it every new connection (the first, and each after the partner closes an idle one) parses
 * the key and certificates again.
 */
export function tlsConnectOptions(tls: PartnerTls | undefined): ConnectionOptions {
  if (!tls) return {};
  const { servername, ...material } = tls;
  return { secureContext: createSecureContext(material), ...(servername ? { servername } : {}) };
}

/**
 * One attempt's abort signal: the policy's, the caller's, or the attempt's own deadline, whichever
 * comes first. One controller, one timer and two listeners, all released when the attempt settles
 * (`dispose`), instead of `AbortSignal.timeout` and `AbortSignal.any` per attempt, which on Node 20
 * cost a WeakRef and finalizer bookkeeping each and were ~2 % of a live dashboard.
 */
export class AttemptAbort {
  readonly signal: AbortSignal;
  timedOut = false;
  private readonly controller = new AbortController();
  private readonly sources: AbortSignal[];
  private readonly timer: NodeJS.Timeout;

  constructor(totalMs: number, ...sources: Array<AbortSignal | undefined>) {
    this.signal = this.controller.signal;
    this.sources = sources.filter((source): source is AbortSignal => source !== undefined);
    for (const source of this.sources) {
      if (source.aborted) this.controller.abort(source.reason);
      else source.addEventListener('abort', this.forward);
    }
    this.timer = setTimeout(() => {
      this.timedOut = true;
      this.controller.abort(new DOMException('The partner call exceeded its deadline.', 'TimeoutError'));
    }, totalMs);
    this.timer.unref();
  }

  dispose(): void {
    clearTimeout(this.timer);
    for (const source of this.sources) source.removeEventListener('abort', this.forward);
  }

  private readonly forward = (event: Event): void => {
    this.controller.abort((event.target as AbortSignal).reason);
  };
}
