/**
 * A token bucket over the authenticated API requests of one proxy (spec: the proxy MAY apply quotas and
 * answer ThrottlingException). Burst = one second's worth of requests.
 */
export class RateLimiter {
  #rate: number;
  #tokens: number;
  #last: number;

  constructor(perSecond: number, now = Date.now()) {
    this.#rate = perSecond;
    this.#tokens = perSecond;
    this.#last = now;
  }

  setRate(perSecond: number): void {
    this.#rate = perSecond;
    this.#tokens = Math.min(this.#tokens, perSecond);
  }

  /** True when the request may proceed (always, when the rate is 0 = off). */
  take(now = Date.now()): boolean {
    if (this.#rate <= 0) return true;
    this.#tokens = Math.min(this.#rate, this.#tokens + ((now - this.#last) / 1000) * this.#rate);
    this.#last = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}
