// The set_request_headers template language (reference §6.4), a port of
// pom:internal/headertemplate's hand-written parser with the lookups of
// pom:authorize/evaluator/headers_evaluator_evaluation.go. A template is
// compiled once, at configuration load, into literal text and lookups;
// rendering concatenates them. Lookups are never re-parsed, so a value that
// itself looks like a template stays as it is.
//
//   $$                          → $
//   $ident(.ident)*             → lookup
//   ${ ident ( .ident | ["string"] )* }   (spaces and tabs allowed between parts)
//   identifier: [A-Za-z0-9_-]+
//
// A `$` that does not start a well-formed variable is literal text ("$a."
// and "${x" render as written). Unknown references render as ''.
import { isFieldValue } from '../config/headers.js';

export interface ClientCertificateValues {
  /** Lower-case hex SHA-256 of the leaf certificate's DER. */
  readonly fingerprint: string;
  readonly dnsNames: readonly string[];
  readonly emailAddresses: readonly string[];
}

/** What a request offers its templates. */
export interface TemplateContext {
  /** The identity provider's access token; '' without a session. */
  readonly accessToken: string;
  /** The raw ID token; '' without a session. */
  readonly idToken: string;
  /** This request's X-Pomerium-Jwt-Assertion. */
  readonly jwt: string;
  /** The request's headers as received: flat lower-case `[name, value, …]`. */
  readonly headers: readonly string[];
  /** The verified client certificate; null when none was presented. */
  readonly clientCertificate: ClientCertificateValues | null;
}

export interface HeaderTemplate {
  /** The rendered value when the template looks nothing up; null otherwise. */
  readonly constant: string | null;
  /** Whether it renders `pomerium.jwt`: the assertion must then be signed even when identity headers are not passed. */
  readonly usesJwt: boolean;
  render(ctx: TemplateContext): string;
}

const enum Lookup {
  AccessToken,
  IdToken,
  Jwt,
  ClientCertFingerprint,
  ClientCertSanDns,
  ClientCertSanEmail,
  RequestHeader,
}

interface LookupPart {
  readonly lookup: Lookup;
  /** Lower-case header name, for RequestHeader. */
  readonly lname: string;
}

type Part = string | LookupPart;

/**
 * The template as literal text and references (each the list of names
 * between the dots and brackets), alternating, starting and ending with
 * text. Exposed so the parser can be tested on its own, as Pomerium tests it.
 */
export function parseHeaderTemplate(text: string): (string | string[])[] {
  return new Parser(text).parse();
}

export function compileHeaderTemplate(text: string): HeaderTemplate {
  const parts = mergeLiterals(parseHeaderTemplate(text).map(partOf));
  if (parts.length === 0) return constantTemplate('');
  if (parts.length === 1 && typeof parts[0] === 'string') return constantTemplate(parts[0]);
  const usesJwt = parts.some((p) => typeof p !== 'string' && p.lookup === Lookup.Jwt);
  return {
    constant: null,
    usesJwt,
    render(ctx: TemplateContext): string {
      let out = '';
      for (let i = 0; i < parts.length; i++) {
        const p = parts[i] as Part;
        out += typeof p === 'string' ? p : lookupValue(p, ctx);
      }
      return out;
    },
  };
}

function constantTemplate(value: string): HeaderTemplate {
  return { constant: value, usesJwt: false, render: () => value };
}

function lookupValue(p: LookupPart, ctx: TemplateContext): string {
  let v: string;
  switch (p.lookup) {
    case Lookup.AccessToken:
      v = ctx.accessToken;
      break;
    case Lookup.IdToken:
      v = ctx.idToken;
      break;
    case Lookup.Jwt:
      v = ctx.jwt;
      break;
    case Lookup.ClientCertFingerprint:
      v = ctx.clientCertificate?.fingerprint ?? '';
      break;
    case Lookup.ClientCertSanDns:
      v = ctx.clientCertificate === null ? '' : commaSeparatedList(ctx.clientCertificate.dnsNames);
      break;
    case Lookup.ClientCertSanEmail:
      v = ctx.clientCertificate === null ? '' : commaSeparatedList(ctx.clientCertificate.emailAddresses);
      break;
    case Lookup.RequestHeader:
      v = joinedValues(ctx.headers, p.lname);
      break;
  }
  // A provider's token is not ours to trust with the framing of the upstream request.
  return isFieldValue(v) ? v : '';
}

/** Every value of a header joined with `,` (Envoy merges repeated headers so before Pomerium sees them). */
function joinedValues(headers: readonly string[], lname: string): string {
  let out: string | null = null;
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i] === lname) out = out === null ? (headers[i + 1] as string) : out + ',' + headers[i + 1];
  }
  return out ?? '';
}

/**
 * Joins with `,`, leaving out entries that contain a comma, so the list
 * parses back unambiguously (pom:authorize/evaluator commaSeparatedList).
 */
export function commaSeparatedList(items: readonly string[]): string {
  let out = '';
  let first = true;
  for (const item of items) {
    if (item.includes(',')) continue;
    out = first ? item : out + ',' + item;
    first = false;
  }
  return out;
}

const POMERIUM_LOOKUPS: ReadonlyMap<string, Lookup> = new Map([
  ['access_token', Lookup.AccessToken],
  ['id_token', Lookup.IdToken],
  ['jwt', Lookup.Jwt],
  ['client_cert_fingerprint', Lookup.ClientCertFingerprint],
  ['client_cert_san_dns', Lookup.ClientCertSanDns],
  ['client_cert_san_email', Lookup.ClientCertSanEmail],
]);

/** A parsed reference → its lookup, or '' for anything Postern does not know (Pomerium's default case). */
function partOf(piece: string | readonly string[]): Part {
  if (typeof piece === 'string') return piece;
  if (piece[0] !== 'pomerium') return '';
  if (piece.length === 2) {
    const lookup = POMERIUM_LOOKUPS.get(piece[1] as string);
    return lookup === undefined ? '' : { lookup, lname: '' };
  }
  // Only the fourth element names the header; anything after it is ignored, as in Pomerium.
  if (piece.length > 3 && piece[1] === 'request' && piece[2] === 'headers') {
    return { lookup: Lookup.RequestHeader, lname: (piece[3] as string).toLowerCase() };
  }
  return '';
}

function mergeLiterals(parts: readonly Part[]): Part[] {
  const out: Part[] = [];
  for (const p of parts) {
    const last = out[out.length - 1];
    if (typeof p === 'string') {
      if (p === '') continue;
      if (typeof last === 'string') out[out.length - 1] = last + p;
      else out.push(p);
    } else {
      out.push(p);
    }
  }
  return out;
}

const DOLLAR = 0x24;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const DOT = 0x2e;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const END = -1;

function isIdentifierChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f || c === 0x2d;
}

/** Splits a template into literal text and references (each reference a list of names). */
class Parser {
  readonly #src: string;
  #pos = 0;

  constructor(src: string) {
    this.#src = src;
  }

  parse(): (string | string[])[] {
    const out: (string | string[])[] = [];
    let literal = '';
    while (this.#pos < this.#src.length) {
      const v = this.#variable();
      if (v === null) {
        literal += this.#src[this.#pos++];
        continue;
      }
      if (typeof v === 'string') {
        literal += v;
        continue;
      }
      out.push(literal, v);
      literal = '';
    }
    out.push(literal);
    return out;
  }

  #peek(): number {
    return this.#pos < this.#src.length ? this.#src.charCodeAt(this.#pos) : END;
  }

  #next(): number {
    return this.#pos < this.#src.length ? this.#src.charCodeAt(this.#pos++) : END;
  }

  /** `$$` → '$', a reference, or null (nothing consumed). */
  #variable(): string | string[] | null {
    if (this.#peek() !== DOLLAR) return null;
    const start = this.#pos;
    this.#pos++;
    if (this.#peek() === DOLLAR) {
      this.#pos++;
      return '$';
    }
    if (this.#peek() === OPEN_BRACE) {
      this.#pos++;
      const ref = this.#complex();
      if (ref === null || this.#next() !== CLOSE_BRACE) {
        this.#pos = start;
        return null;
      }
      return ref;
    }
    const ref = this.#simple();
    if (ref === null) this.#pos = start;
    return ref;
  }

  #complex(): string[] | null {
    const start = this.#pos;
    this.#skipWhitespace();
    const first = this.#identifier();
    if (first === null) return this.#fail(start);
    const ref = [first];
    for (;;) {
      this.#skipWhitespace();
      const c = this.#peek();
      if (c === DOT) {
        this.#pos++;
        this.#skipWhitespace();
        const id = this.#identifier();
        if (id === null) return this.#fail(start);
        ref.push(id);
      } else if (c === OPEN_BRACKET) {
        this.#pos++;
        this.#skipWhitespace();
        const s = this.#string();
        if (s === null) return this.#fail(start);
        ref.push(s);
        this.#skipWhitespace();
        if (this.#next() !== CLOSE_BRACKET) return this.#fail(start);
      } else {
        return ref;
      }
    }
  }

  /** A double-quoted string; a backslash takes the next character literally. */
  #string(): string | null {
    const start = this.#pos;
    if (this.#next() !== QUOTE) return this.#fail(start);
    let out = '';
    for (;;) {
      let c = this.#next();
      if (c === QUOTE) return out;
      if (c === END) return this.#fail(start);
      if (c === BACKSLASH) {
        c = this.#next();
        if (c === END) return this.#fail(start);
      }
      out += String.fromCharCode(c);
    }
  }

  #simple(): string[] | null {
    const start = this.#pos;
    const ref: string[] = [];
    for (;;) {
      const id = this.#identifier();
      if (id === null) return this.#fail(start);
      ref.push(id);
      if (this.#peek() !== DOT) return ref;
      this.#pos++;
    }
  }

  #identifier(): string | null {
    const start = this.#pos;
    while (isIdentifierChar(this.#peek())) this.#pos++;
    return this.#pos === start ? null : this.#src.slice(start, this.#pos);
  }

  #skipWhitespace(): void {
    for (let c = this.#peek(); c === 0x20 || c === 0x09; c = this.#peek()) this.#pos++;
  }

  #fail(start: number): null {
    this.#pos = start;
    return null;
  }
}
