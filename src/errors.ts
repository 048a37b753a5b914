// The one catalogue of Postern's errors. Every code is stable: logs, error
// pages and tests refer to it, so a code is never renamed or reused.

export interface ErrorSpec {
  /** Stable code, `PST_` + upper snake case. */
  readonly code: string;
  /** HTTP status when the error ends a request; 0 when it never reaches a client. */
  readonly status: number;
  /** Message safe to show to a client: never a secret, never a stack. */
  readonly message: string;
}

function spec(code: string, status: number, message: string): ErrorSpec {
  return Object.freeze({ code, status, message });
}

export const Errors = Object.freeze({
  // Start-up and configuration.
  CONFIG_INVALID: spec('PST_CONFIG_INVALID', 0, 'the configuration is invalid'),
  CONFIG_UNREADABLE: spec('PST_CONFIG_UNREADABLE', 0, 'the configuration file cannot be read'),
  UWS_NATIVE_MISSING: spec('PST_UWS_NATIVE_MISSING', 0, 'the native uWebSockets.js binary did not load'),
  LISTEN_FAILED: spec('PST_LISTEN_FAILED', 0, 'cannot listen on the configured address'),
  DEV_IDP_NOT_LOOPBACK: spec('PST_DEV_IDP_NOT_LOOPBACK', 0, 'the development identity provider listens only on a loopback address (127.0.0.0/8 or ::1)'),

  // Requests refused before routing (the front end's framing and hygiene checks).
  DUPLICATE_HOST: spec('PST_DUPLICATE_HOST', 400, 'more than one Host header'),
  MISSING_HOST: spec('PST_MISSING_HOST', 400, 'no Host header'),
  INVALID_HOST: spec('PST_INVALID_HOST', 400, 'the Host header is not a valid authority'),
  DUPLICATE_CONTENT_LENGTH: spec('PST_DUPLICATE_CONTENT_LENGTH', 400, 'more than one Content-Length header'),
  INVALID_CONTENT_LENGTH: spec('PST_INVALID_CONTENT_LENGTH', 400, 'the Content-Length header is not a decimal number'),
  DUPLICATE_TRANSFER_ENCODING: spec('PST_DUPLICATE_TRANSFER_ENCODING', 400, 'more than one Transfer-Encoding header'),
  CONTENT_LENGTH_WITH_TRANSFER_ENCODING: spec(
    'PST_CONTENT_LENGTH_WITH_TRANSFER_ENCODING',
    400,
    'both Content-Length and Transfer-Encoding are present',
  ),
  UNSUPPORTED_TRANSFER_ENCODING: spec('PST_UNSUPPORTED_TRANSFER_ENCODING', 400, 'only Transfer-Encoding: chunked is accepted'),
  UNDERSCORE_IN_HEADER_NAME: spec('PST_UNDERSCORE_IN_HEADER_NAME', 400, 'a header name contains an underscore'),
  INVALID_HEADER_NAME: spec('PST_INVALID_HEADER_NAME', 400, 'a header name is not a valid token'),
  CONTROL_CHARACTER: spec('PST_CONTROL_CHARACTER', 400, 'the request contains a NUL or control character'),
  ESCAPED_SLASH_IN_PATH: spec('PST_ESCAPED_SLASH_IN_PATH', 400, 'the path contains an escaped slash or backslash'),
  INVALID_PATH: spec('PST_INVALID_PATH', 400, 'the request target is not a valid origin-form path'),
  BODY_TOO_LARGE: spec('PST_BODY_TOO_LARGE', 413, 'the request body is larger than allowed'),
  MISDIRECTED_REQUEST: spec('PST_MISDIRECTED_REQUEST', 421, 'the Host does not belong to the TLS server name of this connection'),
  METHOD_NOT_ALLOWED: spec('PST_METHOD_NOT_ALLOWED', 405, 'method not allowed on this endpoint'),
  REQUEST_TIMEOUT: spec('PST_REQUEST_TIMEOUT', 408, 'the request did not arrive in time'),

  // Routing and access.
  ROUTE_NOT_FOUND: spec('PST_ROUTE_NOT_FOUND', 404, 'no route matches this request'),
  ENDPOINT_NOT_FOUND: spec('PST_ENDPOINT_NOT_FOUND', 404, 'no such Postern endpoint'),
  FORBIDDEN: spec('PST_FORBIDDEN', 403, 'access to this route is not allowed'),
  CLIENT_CERTIFICATE_REQUIRED: spec('PST_CLIENT_CERTIFICATE_REQUIRED', 495, 'a valid client certificate is required to access this page'),

  // Sign-in and sessions.
  UNAUTHENTICATED: spec('PST_UNAUTHENTICATED', 401, 'sign-in required'),
  SIGNED_URL_INVALID: spec('PST_SIGNED_URL_INVALID', 400, 'the link is not valid'),
  SIGNED_URL_EXPIRED: spec('PST_SIGNED_URL_EXPIRED', 400, 'the link has expired'),
  SIGNED_URL_REPLAYED: spec('PST_SIGNED_URL_REPLAYED', 400, 'the link has already been used'),
  REDIRECT_NOT_ALLOWED: spec('PST_REDIRECT_NOT_ALLOWED', 400, 'the redirect target is not allowed'),
  LOGIN_STATE_INVALID: spec('PST_LOGIN_STATE_INVALID', 400, 'the sign-in state is missing or does not match (are cookies blocked?)'),
  LOGIN_STATE_EXPIRED: spec('PST_LOGIN_STATE_EXPIRED', 400, 'the sign-in took too long; start again'),
  LOGIN_DENIED: spec('PST_LOGIN_DENIED', 401, 'the identity provider refused the sign-in'),
  LOGIN_FAILED: spec('PST_LOGIN_FAILED', 400, 'the sign-in could not be completed'),
  IDP_UNAVAILABLE: spec('PST_IDP_UNAVAILABLE', 503, 'the identity provider cannot be reached'),

  // Upstream failures.
  UPSTREAM_UNREACHABLE: spec('PST_UPSTREAM_UNREACHABLE', 502, 'the upstream refused or reset the connection'),
  UPSTREAM_PROTOCOL: spec('PST_UPSTREAM_PROTOCOL', 502, 'the upstream sent an invalid response'),
  UPSTREAM_UNAVAILABLE: spec('PST_UPSTREAM_UNAVAILABLE', 503, 'no upstream is available'),
  UPSTREAM_TIMEOUT: spec('PST_UPSTREAM_TIMEOUT', 504, 'the upstream did not answer in time'),
  SHUTTING_DOWN: spec('PST_SHUTTING_DOWN', 503, 'the proxy is shutting down'),
  INTERNAL: spec('PST_INTERNAL', 500, 'internal error'),

  // The control socket (`postern service-account …` talking to `postern serve`) and service accounts.
  CONTROL_SOCKET_UNAVAILABLE: spec('PST_CONTROL_SOCKET_UNAVAILABLE', 0, 'cannot open the control socket'),
  CONTROL_UNREACHABLE: spec('PST_CONTROL_UNREACHABLE', 0, 'cannot reach the running proxy'),
  CONTROL_BAD_REQUEST: spec('PST_CONTROL_BAD_REQUEST', 0, 'the control request is invalid'),
  SERVICE_ACCOUNT_INVALID: spec('PST_SERVICE_ACCOUNT_INVALID', 0, 'invalid service account settings'),

  // The databroker's shared storage (Postgres).
  DATABROKER_UNAVAILABLE: spec('PST_DATABROKER_UNAVAILABLE', 503, 'the databroker storage cannot be reached'),
  DATABROKER_RECORD_UNREADABLE: spec('PST_DATABROKER_RECORD_UNREADABLE', 0, 'a stored record cannot be opened with the configured keys'),
  DATABROKER_SCHEMA_TOO_NEW: spec('PST_DATABROKER_SCHEMA_TOO_NEW', 0, 'the databroker schema was migrated by a newer Postern'),

  // The databroker's file storage.
  DATABROKER_CORRUPT: spec('PST_DATABROKER_CORRUPT', 0, 'the databroker storage is corrupt or was tampered with'),
  DATABROKER_IN_USE: spec('PST_DATABROKER_IN_USE', 0, 'the databroker directory is in use by another running process'),
  DATABROKER_WRITE_FAILED: spec('PST_DATABROKER_WRITE_FAILED', 503, 'the session store cannot save changes'),

  // The databroker's replicated peers.
  DATABROKER_READ_ONLY: spec('PST_DATABROKER_READ_ONLY', 503, 'the session store is read-only: the databroker leader cannot be reached'),
  DATABROKER_WRITE_UNCONFIRMED: spec('PST_DATABROKER_WRITE_UNCONFIRMED', 503, 'the databroker leader did not confirm the change'),
  DATABROKER_WRITE_REFUSED: spec('PST_DATABROKER_WRITE_REFUSED', 503, 'the databroker refused the change'),

  // The databroker's in-process replica.
  DATABROKER_CLOSED: spec('PST_DATABROKER_CLOSED', 503, 'the session store is closed'),
} satisfies Record<string, ErrorSpec>);

export type ErrorName = keyof typeof Errors;

/** An error that carries a catalogue entry, so callers map it to a response without string matching. */
export class PosternError extends Error {
  readonly code: string;
  readonly status: number;
  readonly spec: ErrorSpec;

  constructor(spec: ErrorSpec, detail?: string, options?: { cause?: unknown }) {
    super(detail ? `${spec.message}: ${detail}` : spec.message, options);
    this.name = 'PosternError';
    this.code = spec.code;
    this.status = spec.status;
    this.spec = spec;
  }
}

/** One problem found in a configuration: where it is and what is wrong. */
export interface ConfigProblem {
  /** File path, or `env` for an environment variable. */
  readonly file: string;
  /** 1-based line; 0 when the problem has no line (environment, missing key). */
  readonly line: number;
  /** Dotted key path, e.g. `routes[2].to` or `ADDRESS`. */
  readonly key: string;
  /** What is wrong. Never contains a secret value. */
  readonly message: string;
}

export function formatProblem(p: ConfigProblem): string {
  return `${p.file}:${p.line}: ${p.key}: ${p.message}`;
}

/** Start-up refused because the configuration has errors; carries every problem found, not only the first. */
export class ConfigError extends PosternError {
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    super(Errors.CONFIG_INVALID, problems.map(formatProblem).join('\n'));
    this.name = 'ConfigError';
    this.problems = problems;
  }
}
