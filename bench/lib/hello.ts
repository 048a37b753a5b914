// What the upstreams answer, shared by both upstream kinds and the harness,
// so that switching the upstream changes the server and nothing else.
export const HELLO_BODY = 'hello world';

/**
 * Requests under this prefix come only through the policy route, which
 * passes identity headers: the upstream answers them 500 when
 * X-Pomerium-Jwt-Assertion is missing, so a run that lost the assertion
 * shows up in the load generator's error count instead of passing quietly.
 */
export const IDENTITY_PREFIX = '/api/';
/** Under IDENTITY_PREFIX: the upstream answers with the X-Pomerium-Jwt-Assertion it received, for the check before measuring. */
export const ASSERTION_ECHO_PATH = '/api/assertion-echo';
export const NO_ASSERTION_BODY = 'no X-Pomerium-Jwt-Assertion';
