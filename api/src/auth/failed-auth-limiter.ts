/**
 * Counts failed authentications per client address in a sliding window, so that guessing keys
 * gets a 429 long before it could succeed. In memory: each API replica limits on its own.
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
    this.failures.set(client, recent);
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
