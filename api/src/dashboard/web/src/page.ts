/** What the router shows: an element, refreshed on every poll, disposed when the route changes. */
export interface Page {
  readonly element: HTMLElement;
  /** Fetches and redraws; rejects with ApiError / NetworkError. */
  refresh(): Promise<void>;
  dispose(): void;
}

const POLL_STORAGE = 'meshtune.pollMs';
const DEFAULT_POLL_MS = 5_000;

/**
 * How often pages poll: `?poll=<ms>` in the address (kept for the browser session), else the
 * session's value, else 5 s. Tests use 1 s or less.
 */
export function pollIntervalMs(): number {
  const fromUrl = new URLSearchParams(window.location.search).get('poll');
  if (fromUrl !== null && /^\d+$/.test(fromUrl)) sessionStorage.setItem(POLL_STORAGE, fromUrl);
  const stored = Number(sessionStorage.getItem(POLL_STORAGE) ?? DEFAULT_POLL_MS);
  return Number.isFinite(stored) ? Math.max(250, stored) : DEFAULT_POLL_MS;
}
