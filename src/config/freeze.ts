// The loaded configuration is immutable: every object and array in it is
// frozen, so no part of the proxy can change what another part relies on.
// Buffers cannot be frozen (typed arrays with elements refuse it) and are
// left as they are.

/**
 * A URL keeps its state in internal slots that its setters change even when
 * the object is frozen; shadowing every accessor with a read-only snapshot
 * makes assignments fail (TypeError in strict code) instead. `searchParams`
 * becomes a detached copy, so its methods cannot reach the URL.
 */
function freezeUrl(url: URL): void {
  for (const [name, descriptor] of Object.entries(Object.getOwnPropertyDescriptors(URL.prototype))) {
    if (descriptor.get === undefined) continue;
    const value: unknown = name === 'searchParams' ? Object.freeze(new URLSearchParams(url.search)) : (url as unknown as Record<string, unknown>)[name];
    Object.defineProperty(url, name, { value, writable: false, enumerable: false, configurable: false });
  }
  Object.freeze(url);
}

export function deepFreeze<T>(value: T, seen = new WeakSet<object>()): T {
  if (value === null || typeof value !== 'object' || ArrayBuffer.isView(value) || seen.has(value)) return value;
  seen.add(value);
  if (value instanceof URL) {
    freezeUrl(value);
    return value;
  }
  Object.freeze(value);
  for (const key of Reflect.ownKeys(value)) deepFreeze((value as Record<PropertyKey, unknown>)[key], seen);
  return value;
}
