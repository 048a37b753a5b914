// Loading oidc-provider. Version 9 prints "Unsupported runtime. Use Node.js
// v22.x LTS" when imported on Node 20. It runs correctly on Node 20 (the dev
// IdP tests drive every flow we use through it), and that line would be the
// only non-JSON output of the dev IdP, so exactly that warning is dropped
// while the module loads. Everything else oidc-provider prints gets through.
type OidcProviderModule = typeof import('oidc-provider');

const RUNTIME_WARNING = 'oidc-provider WARNING: Unsupported runtime';

let loading: Promise<OidcProviderModule> | undefined;

export function loadOidcProvider(): Promise<OidcProviderModule> {
  loading ??= (async () => {
    const warn = console.warn;
    console.warn = (...args: unknown[]): void => {
      if (typeof args[0] === 'string' && args[0].includes(RUNTIME_WARNING)) return;
      warn.apply(console, args);
    };
    try {
      return await import('oidc-provider');
    } finally {
      console.warn = warn;
    }
  })();
  return loading;
}
