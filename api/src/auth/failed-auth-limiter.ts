import { isIPv6 } from 'node:net';
import { LRUCache } from 'lru-cache';

/**
 * Clients (addresses, IPv6 networks) whose recent failures are remembered. Past it the client
 * least recently seen failing is forgotten: a flood of distinct addresses costs O(1) a failure
 * (the limiter once scanned every address it held at each failure past 10,000: 1.4 ms a failure
 * at 50,000; docs/reliability.md, finding 35), and only a client with more addresses than this
 * in one minute can make the limiter forget one of them early.
 */
export const MAX_TRACKED_CLIENTS = 10_000;

/**
 * The client an address stands for: an IPv6 address by its /64 (one host, or one customer
 * network, holds a whole /64: counted by address, a guesser escaped the limit by changing it),
 * an IPv4-mapped IPv6 address (`::ffff:192.0.2.1`, what a dual-stack listener reports) by its IPv4
 * address, anything else as it is.
 */
export function clientOf(address: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (mapped !== null) return mapped[1];
  if (!isIPv6(address)) return address;
  const [head, tail = ''] = address.toLowerCase().split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === '' ? [] : tail.split(':');
  const groups = address.includes('::')
    ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right]
    : left;
  return `${groups
    .slice(0, 4)
    .map((group) => group.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

/**
 * Counts failed authentications per client (an address, or an IPv6 /64) in a sliding window, so
 * that guessing keys gets a 429 long before it could succeed. It only limits failures: AuthGuard
 * still accepts a valid generated key from a limited client. In memory: each API replica limits on
 * its own. The address is Fastify's `request.ip`: the peer, or with MESHTUNE_TRUST_PROXY the
 * address a trusted proxy forwarded.
 */
export class FailedAuthLimiter {
  private readonly failures: LRUCache<string, number[]>;

  constructor(
    private readonly maxFailures = 20,
    private readonly windowMs = 60_000,
  ) {
    // Entries also expire a window after their last failure; an expired one is dropped when met.
    this.failures = new LRUCache({ max: MAX_TRACKED_CLIENTS, ttl: windowMs, ttlAutopurge: false });
  }

  /** Clients held now (at most MAX_TRACKED_CLIENTS). */
  get trackedClients(): number {
    return this.failures.size;
  }

  isBlocked(address: string, now = Date.now()): boolean {
    return this.recent(clientOf(address), now).length >= this.maxFailures;
  }

  recordFailure(address: string, now = Date.now()): void {
    const client = clientOf(address);
    const recent = this.recent(client, now);
    recent.push(now);
    // The newest maxFailures times decide the block: memory and time per client stay bounded under a flood.
    this.failures.set(client, recent.slice(-this.maxFailures));
  }

  private recent(client: string, now: number): number[] {
    return (this.failures.get(client) ?? []).filter((time) => now - time < this.windowMs);
  }
}
