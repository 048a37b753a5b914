// The body both upstream kinds answer with, so that switching the upstream
// changes the server and nothing else.
export const HELLO_BODY = 'hello world';
