// The validated, frozen configuration. The loader (config/load.ts) turns a
// Pomerium-style YAML/JSON file plus environment overrides into this shape
// once; everything else reads only this, never the raw file.

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
export type SameSite = '' | 'lax' | 'strict' | 'none';
export type LoadBalancingPolicy = 'round_robin' | 'least_request' | 'random';
/** Form of the `iss` claim of X-Pomerium-Jwt-Assertion: the route host, or `https://<host>/`. */
export type JwtIssuerFormat = 'hostOnly' | 'uri';

/** A header to set: the name as configured (case kept for the wire), the value verbatim. */
export interface HeaderEntry {
  readonly name: string;
  /** Lower-cased name, for comparisons. */
  readonly lname: string;
  readonly value: string;
}

/** One `jwt_claims_headers` entry: the header to send and the assertion claim it carries. */
export interface ClaimHeader {
  /** As configured (list form: `x-pomerium-claim-<claim>`). */
  readonly name: string;
  readonly lname: string;
  readonly claim: string;
}

/** A certificate and its key, both as PEM, plus the DNS names it serves (from its SANs, else its CN). */
export interface CertificatePair {
  readonly certPem: string;
  readonly keyPem: string;
  /** Where it came from, for messages: a file path or `certificate` (inline). */
  readonly origin: string;
  /** Lower-cased DNS names, wildcards kept as `*.example.com`. */
  readonly names: readonly string[];
}

export interface ListenAddress {
  /** Host to bind; '' means every interface. */
  readonly host: string;
  readonly port: number;
}

/** Upstream TLS settings of one route (Pomerium's `tls_*` route keys plus global `certificate_authority`). */
export interface UpstreamTls {
  readonly skipVerify: boolean;
  /** SNI and name to verify; null = the `to` host. */
  readonly serverName: string | null;
  /** PEM trust roots replacing the system ones; null = system roots (plus `certificate_authority`). */
  readonly customCa: string | null;
  /** PEM client certificate and key for upstream mutual TLS. */
  readonly clientCert: string | null;
  readonly clientKey: string | null;
}

export interface UpstreamTarget {
  /** `http:` or `https:` */
  readonly protocol: 'http:' | 'https:';
  /** scheme://host:port, the key of the connection pool. */
  readonly origin: string;
  /** `host:port` as it would appear in a Host header (port omitted when default). */
  readonly authority: string;
  /** Path of the `to` URL without trailing slash handling: '' when none or '/'. */
  readonly pathPrefix: string;
  /** 1 when no weights are given. */
  readonly weight: number;
}

export interface FromUrl {
  readonly scheme: 'http' | 'https';
  /** Lower-cased host without port; may contain `*`. */
  readonly host: string;
  /** null = any incoming port. */
  readonly port: number | null;
  /** Compiled matcher for wildcard hosts (anchored, case-insensitive); null for exact hosts. */
  readonly wildcard: RegExp | null;
  /** The `from` string as written. */
  readonly raw: string;
}

export interface RegexRewrite {
  readonly pattern: RegExp;
  /** Pomerium/Envoy syntax with `\1` back-references. */
  readonly substitution: string;
}

export interface RewriteResponseHeader {
  readonly header: string;
  readonly lheader: string;
  readonly prefix: string;
  readonly value: string;
}

/**
 * The route's access options, parsed and validated now; the policy engine
 * (a later issue) compiles them. `policy` keeps the PPL as plain data.
 */
export interface RouteAccess {
  readonly allowPublicUnauthenticatedAccess: boolean;
  readonly allowAnyAuthenticatedUser: boolean;
  readonly allowedUsers: readonly string[];
  readonly allowedDomains: readonly string[];
  readonly allowedIdpClaims: Readonly<Record<string, readonly unknown[]>>;
  readonly corsAllowPreflight: boolean;
  /** Embedded PPL (object or list), as parsed from YAML; null when absent. */
  readonly policy: unknown;
  readonly passIdentityHeaders: boolean | null;
  readonly showErrorDetails: boolean;
}

export interface Route {
  /** Position in the combined list (`policy` entries first, then `routes`). */
  readonly index: number;
  /** `name`, or `route-<index>`. */
  readonly name: string;
  /** Stable hex id over from/prefix/path/regex/to, as Pomerium derives it. */
  readonly id: string;
  /** Where it was defined, for messages: `file:line`. */
  readonly location: string;
  readonly from: FromUrl;
  readonly to: readonly UpstreamTarget[];
  readonly prefix: string | null;
  readonly path: string | null;
  /** Anchored `^(?:…)$`. */
  readonly regex: RegExp | null;
  readonly prefixRewrite: string | null;
  readonly regexRewrite: RegexRewrite | null;
  readonly hostRewrite: string | null;
  /** Lower-cased request header name. */
  readonly hostRewriteHeader: string | null;
  readonly preserveHostHeader: boolean;
  /** Raw template values (set_request_headers); identity/templates.ts compiles them (UpstreamIdentity.planFor). */
  readonly setRequestHeaders: readonly HeaderEntry[];
  /** Lower-cased names. */
  readonly removeRequestHeaders: readonly string[];
  /** The effective list for this route: the global set (or defaults) merged with the route's, `disable` applied. */
  readonly setResponseHeaders: readonly HeaderEntry[];
  readonly rewriteResponseHeaders: readonly RewriteResponseHeader[];
  /** Whole-response deadline in ms; 0 = none. */
  readonly timeoutMs: number;
  /** Idle (no bytes either way) deadline in ms; 0 = none. */
  readonly idleTimeoutMs: number;
  readonly loadBalancingPolicy: LoadBalancingPolicy;
  readonly tls: UpstreamTls;
  readonly access: RouteAccess;
  /**
   * The route's own OAuth client at the global provider (`idp_client_id`,
   * `idp_client_secret`); null: the global client. Sessions made with one
   * client are not valid on routes of another.
   */
  readonly idpClient: { readonly clientId: string; readonly clientSecret: string } | null;
  /** `jwt_issuer_format` of this route; null = the global one. */
  readonly jwtIssuerFormat: JwtIssuerFormat | null;
}

export interface IdpOptions {
  readonly provider: string;
  readonly providerUrl: string;
  readonly clientId: string;
  /** Secret; never logged. */
  readonly clientSecret: string;
  readonly scopes: readonly string[];
  readonly requestParams: Readonly<Record<string, string>>;
}

export interface CookieOptions {
  readonly name: string;
  readonly domain: string;
  readonly httpOnly: boolean;
  readonly sameSite: SameSite;
  readonly expireMs: number;
  /** 32 bytes; never logged. */
  readonly secret: Buffer;
  readonly secretGenerated: boolean;
}

/** `databroker_storage_type`; a file's fsync policy rides in its URL (`file:///dir?fsync=always`). */
export type DatabrokerStorage =
  | { readonly type: 'memory' }
  | {
      readonly type: 'file';
      /** Absolute path of the store's directory (the path of the `file://` URL). */
      readonly directory: string;
      /** `always`: an fsync per write; `batch` (default): writes share fsyncs a few ms apart; `never`: the OS decides. */
      readonly fsync: 'always' | 'batch' | 'never';
    }
  | {
      readonly type: 'postgres';
      /** The DSN as configured (URL or key=value form). Secret (it may hold a password): never logged. */
      readonly connectionString: string;
    };

/** One member of a databroker peer group (`databroker_cluster_nodes`). */
export interface DatabrokerClusterNode {
  readonly id: string;
  /** `host:port`, checked: where this node listens when it leads, and where the others dial it. */
  readonly address: string;
}

/** A replicated peer group: set when `databroker_cluster_nodes` is. */
export interface DatabrokerCluster {
  readonly nodes: readonly DatabrokerClusterNode[];
  /** `databroker_cluster_node_id`: which of the nodes this instance is. */
  readonly nodeId: string;
  /** `databroker_cluster_leader_id`, else the first node listed (Pomerium's rule without Raft). */
  readonly leaderId: string;
  /** `databroker_cluster_certificate_file` / `_key_file`: presented to the other members, both ways. */
  readonly certificate: CertificatePair;
  /** `databroker_cluster_ca_file`: PEM; the only roots peers are verified against. */
  readonly caPem: string;
}

export interface DatabrokerOptions {
  readonly storage: DatabrokerStorage;
  /**
   * `databroker_encryption_key` / `_file`: keys that seal stored values,
   * 32 bytes each; the first seals, all open. Empty = a key derived from
   * shared_secret (databroker/sealer.ts). Never logged.
   */
  readonly encryptionKeys: readonly Buffer[];
  readonly cluster: DatabrokerCluster | null;
}

export interface Config {
  /** The file it was loaded from. */
  readonly file: string;
  readonly address: ListenAddress;
  readonly insecureServer: boolean;
  /** The default certificate (first of certificate/certificate_file, else the first of `certificates`); null when insecure. */
  readonly defaultCertificate: CertificatePair | null;
  /** Every certificate, the default one first, each served by SNI for its names. */
  readonly certificates: readonly CertificatePair[];
  /** 32 bytes; never logged. */
  readonly sharedSecret: Buffer;
  readonly sharedSecretGenerated: boolean;
  readonly cookie: CookieOptions;
  readonly logLevel: LogLevel;
  readonly timeoutReadMs: number;
  readonly timeoutWriteMs: number;
  readonly timeoutIdleMs: number;
  readonly defaultUpstreamTimeoutMs: number;
  readonly xffNumTrustedHops: number;
  readonly skipXffAppend: boolean;
  /** Global response headers after defaults (HSTS only with certificates) and `disable`. */
  readonly setResponseHeaders: readonly HeaderEntry[];
  /** null when not configured (only needed once routes require login). */
  readonly authenticateServiceUrl: URL | null;
  readonly signoutRedirectUrl: string;
  readonly idp: IdpOptions;
  /** Global `certificate_authority`, PEM, added to upstream trust roots. */
  readonly certificateAuthority: string | null;
  readonly passIdentityHeaders: boolean;
  /**
   * `signing_key` / `signing_key_file`: one PEM private key per entry (EC
   * P-256 or RSA ≥ 2048 bits, checked at load). The first signs
   * X-Pomerium-Jwt-Assertion; all are published in jwks.json. Empty = a key
   * derived from shared_secret (identity/signing-keys.ts).
   */
  readonly signingKeys: readonly string[];
  /** `jwt_claims_headers`, in configuration order. */
  readonly jwtClaimsHeaders: readonly ClaimHeader[];
  readonly jwtIssuerFormat: JwtIssuerFormat;
  /**
   * Hosts a programmatic login may send its token to (`pomerium_redirect_uri`);
   * `localhost` stands for every loopback host, as in Pomerium.
   */
  readonly programmaticRedirectDomains: readonly string[];
  /** Path of the local control socket (`control_socket`). */
  readonly controlSocket: string;
  readonly databroker: DatabrokerOptions;
  readonly routes: readonly Route[];
}

/** A non-fatal finding (unknown key, generated secret): printed by `check`, logged at start-up. */
export interface ConfigWarning {
  readonly file: string;
  readonly line: number;
  readonly key: string;
  readonly message: string;
}

export interface LoadedConfig {
  readonly config: Config;
  readonly warnings: readonly ConfigWarning[];
}
