/** Connection settings shared by the examples: MESHTUNE_URL, MESHTUNE_API_KEY (user scope), MESHTUNE_RUNNER_KEY (runner scope). */
export function env(name: string, fallback?: string): string {
  const value = process.env[name] ?? fallback;
  if (value === undefined) throw new Error(`set ${name} (see docs/sdk.md)`);
  return value;
}

export const baseUrl = env('MESHTUNE_URL', 'http://localhost:3000');
export const apiKey = env('MESHTUNE_API_KEY');
/** A runner-scope key for the worker (an admin key works for both). */
export const runnerKey = env('MESHTUNE_RUNNER_KEY', apiKey);
