// Pomerium's enum decoding (config/custom.go decodeEnumHookFunc), so that
// `LOAD_BALANCING_POLICY_ROUND_ROBIN`, `round_robin` and `ROUND_ROBIN` all
// name the same value. Tried in order, case-insensitively:
//   1. the full enum value name;
//   2. the name with the prefix common to all names removed;
//   3. a name ending in `_<text>`.
// An empty string is the first value (the protobuf zero value).

/** The matching name from `names` (as listed), or null. */
export function decodeEnum(text: string, names: readonly string[]): string | null {
  const upper = text.toUpperCase();
  for (const name of names) if (name.toUpperCase() === upper) return name;
  const prefix = commonPrefix(names).length;
  for (const name of names) if (name.slice(prefix).toUpperCase() === upper) return name;
  for (const name of names) if (name.toUpperCase().endsWith('_' + upper)) return name;
  if (text === '' && names.length > 0) return names[0] as string;
  return null;
}

function commonPrefix(names: readonly string[]): string {
  if (names.length <= 1) return '';
  let prefix = names[0] as string;
  for (const name of names) {
    let j = 0;
    while (j < prefix.length && j < name.length && prefix[j] === name[j]) j++;
    prefix = prefix.slice(0, j);
  }
  return prefix;
}
