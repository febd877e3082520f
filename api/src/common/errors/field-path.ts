/** Characters of one key a field path carries (an error body stays bounded whatever the key). */
export const MAX_FIELD_KEY = 64;

/**
 * The one notation of the `field` of an error (docs/reliability.md, red team 10's "left"):
 * `trainingConfig.layers[3].name`. A key goes after a dot — except the empty key, which that
 * notation cannot show (`budget.` or nothing at all at the top): it is written `[""]`, so that
 * `{"budget": {"": 1}}` names `budget[""]` and `?=1` names `[""]`. Body checks, the validation
 * pipe and the query-key check all build their paths here.
 */
export function childField(parent: string, key: string): string {
  if (key === '') return `${parent}[""]`;
  const shown = key.slice(0, MAX_FIELD_KEY);
  return parent === '' ? shown : `${parent}.${shown}`;
}

/** Item `index` of the array at `parent`: `parameters[2]`. */
export function itemField(parent: string, index: number | string): string {
  return `${parent}[${index}]`;
}
