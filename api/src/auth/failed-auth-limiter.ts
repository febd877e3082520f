/**
 * Counts failed authentications per client address in a sliding window, so that guessing keys
 * gets a 429 long before it could succeed. It only limits failures: AuthGuard still accepts a
 * valid generated key from a limited address. In memory: each API replica limits on its own.
 * The client address is Fastify's `request.ip`: the peer, or with MESHTUNE_TRUST_PROXY the
 * address a trusted proxy forwarded.
 */
export class FailedAuthLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly maxFailures = 20,
    private readonly windowMs = 60_000,
  ) {}

  isBlocked(client: string, now = Date.now()): boolean {
    return this.recent(client, now).length >= this.maxFailures;
  }

  recordFailure(client: string, now = Date.now()): void {
    const recent = this.recent(client, now);
    recent.push(now);
    // The newest maxFailures times decide the block: memory and time per address stay bounded under a flood.
    this.failures.set(client, recent.slice(-this.maxFailures));
    if (this.failures.size > 10_000) this.prune(now);
  }

  private recent(client: string, now: number): number[] {
    return (this.failures.get(client) ?? []).filter((time) => now - time < this.windowMs);
  }

  private prune(now: number): void {
    for (const [client, times] of this.failures) {
      if (times.every((time) => now - time >= this.windowMs)) this.failures.delete(client);
    }
  }
}
