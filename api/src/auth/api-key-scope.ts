/** What an API key may do. `runner` keys register runners; runner tokens are `runner` keys bound to one runner. */
export const API_KEY_SCOPES = ['admin', 'user', 'runner'] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];
