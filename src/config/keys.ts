// The catalogue of Pomerium's configuration keys and what Postern does with
// each: implemented, removed by Pomerium (an error there too), recognised but
// not implemented yet (a warning), or not implemented and unsafe to ignore
// (an error: ignoring it would open a route or change what it serves).
// Key lists follow the mapstructure tags of pom:config/options.go,
// policy.go, config.gen.go and the squashed option structs.

export type KeyStatus =
  | { readonly kind: 'implemented' }
  | { readonly kind: 'removed'; readonly message: string }
  | { readonly kind: 'unsupported'; readonly message: string }
  | { readonly kind: 'unimplemented' }
  | { readonly kind: 'unknown'; readonly message: string };

export const UNIMPLEMENTED_MESSAGE = 'recognised Pomerium option, not implemented by this version of Postern';
const UNKNOWN_MESSAGE = 'unknown config option';

const GLOBAL_KEYS: ReadonlySet<string> = new Set([
  'address',
  'insecure_server',
  'services',
  'certificate',
  'certificate_key',
  'certificate_file',
  'certificate_key_file',
  'certificates',
  'certificate_authority',
  'certificate_authority_file',
  'shared_secret',
  'shared_secret_file',
  'cookie_name',
  'cookie_secret',
  'cookie_secret_file',
  'cookie_domain',
  'cookie_http_only',
  'cookie_same_site',
  'cookie_expire',
  'log_level',
  'timeout_read',
  'timeout_write',
  'timeout_idle',
  'default_upstream_timeout',
  'xff_num_trusted_hops',
  'skip_xff_append',
  'set_response_headers',
  'authenticate_service_url',
  'signout_redirect_url',
  'idp_provider',
  'idp_provider_url',
  'idp_client_id',
  'idp_client_secret',
  'idp_client_secret_file',
  'idp_scopes',
  'idp_request_params',
  'pass_identity_headers',
  'signing_key',
  'signing_key_file',
  'jwt_claims_headers',
  'jwt_issuer_format',
  'programmatic_redirect_domain_whitelist',
  'databroker_storage_type',
  'databroker_storage_connection_string',
  'databroker_storage_connection_string_file',
  'databroker_cluster_node_id',
  'databroker_cluster_leader_id',
  'databroker_cluster_nodes',
  // Postern's own: where the control socket of `postern service-account` lives.
  'control_socket',
  // Postern's own: the keys that encrypt stored records, and the peers' mutual TLS.
  'databroker_encryption_key',
  'databroker_encryption_key_file',
  'databroker_cluster_certificate_file',
  'databroker_cluster_certificate_key_file',
  'databroker_cluster_ca_file',
  'policy',
  'routes',
]);

const UPGRADING = 'https://www.pomerium.com/docs/deploy/core/upgrading';
const removed = (doc: string): string => `config option was removed (see ${UPGRADING}#${doc})`;

const REMOVED_GLOBAL: ReadonlyMap<string, string> = new Map([
  ['client_ca', removed('new-downstream-mtls-settings')],
  ['client_ca_file', removed('new-downstream-mtls-settings')],
  ['idp_service_account', removed('idp-directory-sync')],
  ['idp_refresh_directory_timeout', removed('idp-directory-sync')],
  ['idp_refresh_directory_interval', removed('idp-directory-sync')],
  ['idp_qps', removed('idp-directory-sync')],
  ['tracing_datadog_address', removed('removed-tracing-options')],
  ['tracing_jaeger_collector_endpoint', removed('removed-tracing-options')],
  ['tracing_jaeger_agent_endpoint', removed('removed-tracing-options')],
  ['tracing_zipkin_endpoint', removed('removed-tracing-options')],
  ['tracing_provider', removed('removed-tracing-options')],
  ['tracing_sample_rate', removed('removed-tracing-options')],
  ['policy_file', 'policy file setting is deprecated: list the routes under `routes` instead'],
]);

const NOT_SUPPORTED = 'not supported yet by this version of Postern';

const UNSUPPORTED_GLOBAL: ReadonlyMap<string, string> = new Map([
  ['downstream_mtls', `${NOT_SUPPORTED}: client certificates are not verified, so routes relying on them would be open`],
]);

/** Recognised global keys Postern ignores for now (a warning each). */
const UNIMPLEMENTED_GLOBAL: ReadonlySet<string> = new Set([
  'installation_id',
  'proxy_log_level',
  'access_log_fields',
  'authorize_log_fields',
  'http_redirect_addr',
  'use_proxy_protocol',
  'codec_type',
  'authenticate_internal_service_url',
  'idp_access_token_allowed_audiences',
  'identity_providers',
  'bearer_token_format',
  'authorize_service_url',
  'authorize_service_urls',
  'authorize_internal_service_url',
  'override_certificate_name',
  'tls_derive',
  'jwt_groups_filter',
  'debug_address',
  'metrics_address',
  'metrics_basic_auth',
  'metrics_certificate',
  'metrics_certificate_key',
  'metrics_certificate_file',
  'metrics_certificate_key_file',
  'metrics_client_ca',
  'metrics_client_ca_file',
  'otel_traces_exporter',
  'otel_traces_sampler_arg',
  'otel_resource_attributes',
  'otel_log_level',
  'otel_attribute_value_length_limit',
  'otel_exporter_otlp_endpoint',
  'otel_exporter_otlp_traces_endpoint',
  'otel_exporter_otlp_protocol',
  'otel_exporter_otlp_traces_protocol',
  'otel_exporter_otlp_headers',
  'otel_exporter_otlp_traces_headers',
  'otel_exporter_otlp_timeout',
  'otel_exporter_otlp_traces_timeout',
  'otel_bsp_schedule_delay',
  'otel_bsp_max_export_batch_size',
  'grpc_address',
  'grpc_insecure',
  'grpc_client_timeout',
  'ssh_address',
  'ssh_host_key_files',
  'ssh_host_keys',
  'ssh_user_ca_key_file',
  'ssh_user_ca_key',
  'ssh_rls_enabled',
  'ssh_rls_additional_entries',
  'google_cloud_serverless_authentication_service_account',
  'autocert',
  'autocert_ca',
  'autocert_dir',
  'autocert_eab_key_id',
  'autocert_eab_mac_key',
  'autocert_email',
  'autocert_must_staple',
  'autocert_trusted_ca',
  'autocert_trusted_ca_file',
  'autocert_use_staging',
  'databroker_service_url',
  'databroker_service_urls',
  'databroker_internal_service_url',
  'databroker_raft_bind_address',
  'dns_lookup_family',
  'dns_refresh_rate',
  'dns_failure_refresh_rate',
  'dns_query_timeout',
  'dns_query_tries',
  'dns_udp_max_queries',
  'dns_use_tcp',
  'dns_resolvers',
  'envoy_admin_access_log_path',
  'envoy_admin_profile_path',
  'envoy_admin_address',
  'envoy_bind_config_source_address',
  'envoy_bind_config_freebind',
  'mcp_allowed_client_id_domains',
  'mcp_allowed_as_metadata_domains',
  'runtime_flags',
  'circuit_breaker_thresholds',
  'health_check_addr',
  'health_check_systemd_disabled',
  'blob_storage',
  'allow_upgrades',
  'auto_apply_changesets',
  'envoy_dynamic_extensions',
  'headers_with_underscores_action',
  'merge_slashes',
  'normalize_path',
  'path_with_escaped_slashes_action',
  'session_recording_concurrency',
]);

const ROUTE_KEYS: ReadonlySet<string> = new Set([
  'from',
  'to',
  'name',
  'prefix',
  'path',
  'regex',
  'prefix_rewrite',
  'regex_rewrite_pattern',
  'regex_rewrite_substitution',
  'host_rewrite',
  'host_rewrite_header',
  'preserve_host_header',
  'set_request_headers',
  'remove_request_headers',
  'set_response_headers',
  'rewrite_response_headers',
  'timeout',
  'idle_timeout',
  'load_balancing_policy',
  'tls_skip_verify',
  'tls_server_name',
  'tls_upstream_server_name',
  'tls_custom_ca',
  'tls_custom_ca_file',
  'tls_client_cert',
  'tls_client_key',
  'tls_client_cert_file',
  'tls_client_key_file',
  'allow_public_unauthenticated_access',
  'allow_any_authenticated_user',
  'allowed_users',
  'allowed_domains',
  'allowed_idp_claims',
  'cors_allow_preflight',
  'policy',
  'pass_identity_headers',
  'show_error_details',
  'jwt_issuer_format',
  'idp_client_id',
  'idp_client_secret',
  'idp_client_secret_file',
]);

const REMOVED_ROUTE: ReadonlyMap<string, string> = new Map([
  ['allowed_groups', removed('idp-groups-policy')],
  ['set_authorization_header', removed('set-authorization-header')],
]);

const UNSUPPORTED_ROUTE: ReadonlyMap<string, string> = new Map([
  ['redirect', `${NOT_SUPPORTED}: redirect routes; Pomerium would redirect instead of proxying to \`to\``],
  ['response', `${NOT_SUPPORTED}: direct responses; Pomerium would answer instead of proxying to \`to\``],
  ['tls_downstream_client_ca', `${NOT_SUPPORTED}: client certificates are not verified, so the route would be open`],
  ['tls_downstream_client_ca_file', `${NOT_SUPPORTED}: client certificates are not verified, so the route would be open`],
  ['sub_policies', `${NOT_SUPPORTED}: sub-policies (their deny rules would be ignored)`],
]);

const UNIMPLEMENTED_ROUTE: ReadonlySet<string> = new Set([
  'description',
  'logo_url',
  'regex_priority_order',
  'host_path_regex_rewrite_pattern',
  'host_path_regex_rewrite_substitution',
  'allow_websockets',
  'allow_spdy',
  'allow_upgrades',
  'tls_downstream_server_name',
  'tls_upstream_allow_renegotiation',
  'kubernetes_service_account_token',
  'kubernetes_service_account_token_file',
  'enable_google_cloud_serverless_authentication',
  'jwt_groups_filter',
  'idp_access_token_allowed_audiences',
  'identity_providers',
  'bearer_token_format',
  'depends_on',
  'mcp',
  'circuit_breaker_thresholds',
  'upstream_tunnel',
  'outlier_detection',
  'health_checks',
  'healthy_panic_threshold',
  'session_recording',
]);

// Pomerium's docs name this route option `cors_preflight`, its code `cors_allow_preflight`.
const ROUTE_HINTS: ReadonlyMap<string, string> = new Map([
  ['cors_preflight', `${UNKNOWN_MESSAGE} (the route option is cors_allow_preflight)`],
]);

export function globalKeyStatus(key: string): KeyStatus {
  if (GLOBAL_KEYS.has(key)) return { kind: 'implemented' };
  const gone = REMOVED_GLOBAL.get(key);
  if (gone !== undefined) return { kind: 'removed', message: gone };
  const unsafe = UNSUPPORTED_GLOBAL.get(key);
  if (unsafe !== undefined) return { kind: 'unsupported', message: unsafe };
  if (UNIMPLEMENTED_GLOBAL.has(key)) return { kind: 'unimplemented' };
  return { kind: 'unknown', message: UNKNOWN_MESSAGE };
}

export function routeKeyStatus(key: string): KeyStatus {
  if (ROUTE_KEYS.has(key)) return { kind: 'implemented' };
  const gone = REMOVED_ROUTE.get(key);
  if (gone !== undefined) return { kind: 'removed', message: gone };
  const unsafe = UNSUPPORTED_ROUTE.get(key);
  if (unsafe !== undefined) return { kind: 'unsupported', message: unsafe };
  if (UNIMPLEMENTED_ROUTE.has(key)) return { kind: 'unimplemented' };
  return { kind: 'unknown', message: ROUTE_HINTS.get(key) ?? UNKNOWN_MESSAGE };
}

/**
 * Environment variables that override a global key (Pomerium binds every
 * mapstructure key to its upper-case name; nested struct keys join with `_`).
 * `policy`/`routes` (base64 YAML) and `set_response_headers` (bound to
 * HEADERS) are handled apart, in env.ts.
 */
export const ENV_BINDINGS: ReadonlyMap<string, string> = new Map([
  ...[...GLOBAL_KEYS, ...UNIMPLEMENTED_GLOBAL, ...UNSUPPORTED_GLOBAL.keys()]
    .filter((key) => key !== 'policy' && key !== 'routes' && key !== 'set_response_headers')
    .map((key): [string, string] => [key.toUpperCase(), key]),
  ...['ca', 'ca_file', 'crl', 'crl_file', 'enforcement', 'match_subject_alt_names', 'max_verify_depth'].map(
    (sub): [string, string] => [`DOWNSTREAM_MTLS_${sub.toUpperCase()}`, 'downstream_mtls'],
  ),
]);
