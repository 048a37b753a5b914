// The auth-proxy helpers pick the proxy's port before the proxy binds it
// (the provider must know the redirect URI first). In between, another
// socket on the machine — a test's short-lived client connection using it
// as its local port, another test file's server — can take it, and Postern
// exits with PST_LISTEN_FAILED. That is the test harness losing a race, not
// the proxy failing: start the whole setup again on another port.

/** Postern's refusal to bind, or the OS's, as a start error reports it. */
export function isListenFailure(err: unknown): boolean {
  return /PST_LISTEN_FAILED|EADDRINUSE|address already in use/i.test(String((err as Error)?.message ?? err));
}

/** Runs `start` until it succeeds, retrying only listen failures, at most `attempts` times. */
export async function retryOnListenFailure<T>(start: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (err) {
      if (attempt >= attempts || !isListenFailure(err)) throw err;
    }
  }
}
