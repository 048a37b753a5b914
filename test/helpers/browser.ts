// A small browser for the authentication tests: a cookie jar that keeps
// cookies the way browsers do (Domain, Path, Max-Age/Expires, Secure,
// HttpOnly, SameSite, the __Host-/__Secure- prefixes), redirects followed by
// hand across hosts with every hop recorded, navigation headers
// (`Accept: text/html…`, `Sec-Fetch-Mode: navigate`), and HTML forms read
// and submitted (the development IdP's login page).
//
// Every connection goes to loopback: `localhost`, `*.localhost` and
// 127.0.0.0/8 names are connected to 127.0.0.1 (and [::1] to ::1) on the
// URL's port, with the URL's host as the Host header. A redirect anywhere
// else is recorded and not followed (`Page.leftLoopback`), which is what
// open-redirect tests need to see. Like browsers, loopback and *.localhost
// count as secure contexts, so `Secure` cookies work over plain http there.
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { isIP } from 'node:net';

// ---------------------------------------------------------------------------
// Set-Cookie parsing

export interface ParsedSetCookie {
  readonly name: string;
  readonly value: string;
  /** Attribute names lower-cased; a flag attribute (`HttpOnly`) has the value ''. Later duplicates win. */
  readonly attributes: ReadonlyMap<string, string>;
}

/** Splits a Set-Cookie header value into name, value and attributes (RFC 6265 §5.2); null when it has no `=`. */
export function parseSetCookie(raw: string): ParsedSetCookie | null {
  const parts = raw.split(';');
  const pair = parts[0]!;
  const eq = pair.indexOf('=');
  if (eq < 0) return null;
  const name = pair.slice(0, eq).trim();
  const value = pair.slice(eq + 1).trim();
  if (name === '') return null;
  const attributes = new Map<string, string>();
  for (const part of parts.slice(1)) {
    const aeq = part.indexOf('=');
    const key = (aeq < 0 ? part : part.slice(0, aeq)).trim().toLowerCase();
    if (key === '') continue;
    attributes.set(key, aeq < 0 ? '' : part.slice(aeq + 1).trim());
  }
  return { name, value, attributes };
}

// ---------------------------------------------------------------------------
// Sites and secure contexts

/** True for hosts a browser treats as loopback: 127.0.0.0/8, ::1, localhost and *.localhost. */
export function isLoopbackName(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

function isSecureContext(url: URL): boolean {
  return url.protocol === 'https:' || isLoopbackName(url.hostname);
}

/**
 * Schemeful site (scheme + registrable domain). No public-suffix list: the
 * last label is the suffix, so app.localhost and authenticate.localhost are
 * two sites, as they are in Chromium; an IP address is its own site.
 */
export function siteOf(url: URL): string {
  const host = url.hostname.toLowerCase();
  if (isIP(host.replace(/^\[|\]$/g, '')) !== 0) return `${url.protocol}//${host}`;
  const labels = host.split('.');
  return `${url.protocol}//${labels.slice(-2).join('.')}`;
}

// ---------------------------------------------------------------------------
// Cookie jar

export type SameSite = 'strict' | 'lax' | 'none';

export interface Cookie {
  readonly name: string;
  readonly value: string;
  /** Lower-case, without a leading dot. */
  readonly domain: string;
  /** Set without a Domain attribute: sent to exactly `domain`. */
  readonly hostOnly: boolean;
  readonly path: string;
  readonly secure: boolean;
  readonly httpOnly: boolean;
  /** No attribute counts as Lax, as in today's browsers. */
  readonly sameSite: SameSite;
  /** Milliseconds since the epoch; null for a session cookie. */
  readonly expiresAt: number | null;
  readonly createdAt: number;
}

/** The context a request is made in, for SameSite. */
export interface RequestContext {
  /** Every URL of the redirect chain and its initiator so far share the request's site. */
  readonly sameSite: boolean;
  /** A top-level navigation (the URL bar changes). */
  readonly topLevel: boolean;
  readonly method: string;
}

export type StoreResult = { readonly stored: true; readonly deleted: boolean } | { readonly stored: false; readonly reason: string };

function domainMatches(host: string, domain: string): boolean {
  return host === domain || (host.endsWith(`.${domain}`) && isIP(host.replace(/^\[|\]$/g, '')) === 0);
}

function defaultPath(url: URL): string {
  const p = url.pathname;
  if (!p.startsWith('/')) return '/';
  const last = p.lastIndexOf('/');
  return last <= 0 ? '/' : p.slice(0, last);
}

function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath.charAt(cookiePath.length) === '/';
}

export class CookieJar {
  #cookies: Cookie[] = [];
  #clock = 0;

  /** Applies one Set-Cookie header received from `url`, as a browser would. */
  store(url: URL | string, setCookie: string, now = Date.now()): StoreResult {
    const u = typeof url === 'string' ? new URL(url) : url;
    const parsed = parseSetCookie(setCookie);
    if (parsed === null) return { stored: false, reason: 'no name=value' };
    const host = u.hostname.toLowerCase();
    const a = parsed.attributes;

    let domain = host;
    let hostOnly = true;
    const domainAttr = a.get('domain');
    if (domainAttr !== undefined && domainAttr !== '') {
      const d = domainAttr.replace(/^\./, '').toLowerCase();
      if (!domainMatches(host, d)) return { stored: false, reason: `Domain=${domainAttr} does not cover ${host}` };
      domain = d;
      hostOnly = false;
    }
    const pathAttr = a.get('path');
    const path = pathAttr !== undefined && pathAttr.startsWith('/') ? pathAttr : defaultPath(u);
    const secure = a.has('secure');
    if (secure && !isSecureContext(u)) return { stored: false, reason: 'Secure cookie from an insecure origin' };
    const sameSiteAttr = (a.get('samesite') ?? '').toLowerCase();
    const sameSite: SameSite = sameSiteAttr === 'strict' ? 'strict' : sameSiteAttr === 'none' ? 'none' : 'lax';
    if (sameSite === 'none' && !secure) return { stored: false, reason: 'SameSite=None without Secure' };
    if (parsed.name.startsWith('__Secure-') && !secure) return { stored: false, reason: '__Secure- prefix without Secure' };
    if (parsed.name.startsWith('__Host-') && (!secure || !hostOnly || path !== '/')) {
      return { stored: false, reason: '__Host- prefix needs Secure, no Domain and Path=/' };
    }

    let expiresAt: number | null = null;
    const maxAge = a.get('max-age');
    if (maxAge !== undefined && /^-?\d+$/.test(maxAge)) {
      const seconds = Number(maxAge);
      expiresAt = seconds <= 0 ? 0 : now + seconds * 1000;
    } else {
      const expires = a.get('expires');
      if (expires !== undefined) {
        const t = Date.parse(expires);
        if (!Number.isNaN(t)) expiresAt = t;
      }
    }

    const i = this.#cookies.findIndex((c) => c.name === parsed.name && c.domain === domain && c.hostOnly === hostOnly && c.path === path);
    const old = i >= 0 ? this.#cookies[i] : undefined;
    if (i >= 0) this.#cookies.splice(i, 1);
    if (expiresAt !== null && expiresAt <= now) return { stored: true, deleted: old !== undefined };
    this.#cookies.push({
      name: parsed.name,
      value: parsed.value,
      domain,
      hostOnly,
      path,
      secure,
      httpOnly: a.has('httponly'),
      sameSite,
      expiresAt,
      createdAt: old?.createdAt ?? this.#clock++,
    });
    return { stored: true, deleted: false };
  }

  /** The cookies a request to `url` in `context` carries, longest path first, then oldest first. */
  cookiesFor(url: URL | string, context: RequestContext = { sameSite: true, topLevel: true, method: 'GET' }, now = Date.now()): Cookie[] {
    const u = typeof url === 'string' ? new URL(url) : url;
    this.#expire(now);
    const host = u.hostname.toLowerCase();
    const secure = isSecureContext(u);
    const safeTopLevel = context.topLevel && (context.method === 'GET' || context.method === 'HEAD');
    return this.#cookies
      .filter((c) => (c.hostOnly ? host === c.domain : domainMatches(host, c.domain)))
      .filter((c) => pathMatches(u.pathname || '/', c.path))
      .filter((c) => !c.secure || secure)
      .filter((c) => c.sameSite === 'none' || context.sameSite || (c.sameSite === 'lax' && safeTopLevel))
      .sort((x, y) => y.path.length - x.path.length || x.createdAt - y.createdAt);
  }

  /** The Cookie header for a request, or '' when none applies. */
  header(url: URL | string, context?: RequestContext): string {
    return this.cookiesFor(url, context)
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }

  /** The cookie named `name` that a same-site navigation to `url` would send. */
  get(name: string, url: URL | string): Cookie | undefined {
    return this.cookiesFor(url).find((c) => c.name === name);
  }

  /** What `document.cookie` shows on `url`: the cookies that are not HttpOnly. */
  scriptVisible(url: URL | string): Cookie[] {
    return this.cookiesFor(url).filter((c) => !c.httpOnly);
  }

  /** Every unexpired cookie. */
  all(now = Date.now()): readonly Cookie[] {
    this.#expire(now);
    return [...this.#cookies];
  }

  /** Forgets every cookie named `name` (all domains and paths). */
  delete(name: string): void {
    this.#cookies = this.#cookies.filter((c) => c.name !== name);
  }

  #expire(now: number): void {
    this.#cookies = this.#cookies.filter((c) => c.expiresAt === null || c.expiresAt > now);
  }
}

// ---------------------------------------------------------------------------
// HTML forms

export interface HtmlForm {
  readonly id: string | null;
  readonly action: string;
  readonly method: 'GET' | 'POST';
  /** Named inputs in document order (hidden, text and password; checkboxes only when checked). */
  readonly fields: readonly (readonly [string, string])[];
  /** Name of the first password input, or null. */
  readonly passwordField: string | null;
  /** Names of the text and e-mail inputs, in order (the first is the user name on a sign-in form). */
  readonly textFields: readonly string[];
}

const ENTITIES: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

export function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, ref: string) => {
    if (ref[0] === '#') {
      const code = ref[1] === 'x' || ref[1] === 'X' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      return Number.isFinite(code) ? String.fromCodePoint(code) : whole;
    }
    return ENTITIES[ref.toLowerCase()] ?? whole;
  });
}

function attributesOf(tag: string): Map<string, string> {
  const attrs = new Map<string, string>();
  const re = /([^\s"'<>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;
  // Skip the tag name itself.
  const body = tag.replace(/^<\s*[a-z]+/i, '').replace(/\/?>$/, '');
  for (let m = re.exec(body); m !== null; m = re.exec(body)) {
    const name = m[1]!.toLowerCase();
    if (!attrs.has(name)) attrs.set(name, decodeEntities(m[2] ?? m[3] ?? m[4] ?? ''));
  }
  return attrs;
}

/** Every <form> of a page, with its fields; `base` resolves the action. */
export function parseForms(html: string, base: string): HtmlForm[] {
  const forms: HtmlForm[] = [];
  const formRe = /<form\b[^>]*>([\s\S]*?)<\/form\s*>/gi;
  for (let m = formRe.exec(html); m !== null; m = formRe.exec(html)) {
    const open = /^<form\b[^>]*>/i.exec(m[0])![0];
    const attrs = attributesOf(open);
    const fields: [string, string][] = [];
    let passwordField: string | null = null;
    const textFields: string[] = [];
    for (const input of m[1]!.matchAll(/<input\b[^>]*>/gi)) {
      const a = attributesOf(input[0]);
      const type = (a.get('type') ?? 'text').toLowerCase();
      const name = a.get('name');
      if (name === undefined || type === 'submit' || type === 'button' || type === 'image' || type === 'file') continue;
      if (type === 'password') passwordField ??= name;
      if (type === 'text' || type === 'email') textFields.push(name);
      if ((type === 'checkbox' || type === 'radio') && !a.has('checked')) continue;
      fields.push([name, a.get('value') ?? (type === 'checkbox' ? 'on' : '')]);
    }
    const method = (attrs.get('method') ?? 'get').toUpperCase() === 'POST' ? 'POST' : 'GET';
    forms.push({ id: attrs.get('id') ?? null, action: new URL(attrs.get('action') || base, base).toString(), method, fields, passwordField, textFields });
  }
  return forms;
}

// ---------------------------------------------------------------------------
// The browser

export interface Hop {
  readonly method: string;
  readonly url: string;
  readonly status: number;
  /** The Location header, as sent. */
  readonly location: string | null;
  /** Every Set-Cookie header of this response. */
  readonly setCookies: readonly string[];
  /** The Cookie header the request carried ('' for none). */
  readonly sentCookies: string;
}

export interface Page {
  /** The URL of the last response. */
  readonly url: string;
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  /** Every response of this navigation in order, the last one included. */
  readonly hops: readonly Hop[];
  /** A redirect target that was not followed because it is not on loopback. */
  readonly leftLoopback: string | null;
  /** A redirect target that was not followed because `stopBefore` matched it. */
  readonly stoppedBefore: string | null;
  text(): string;
  json<T = unknown>(): T;
  forms(): HtmlForm[];
}

export interface RequestOptions {
  readonly method?: string;
  /** Extra request headers; they replace the browser's own of the same name, and `null` removes one. */
  readonly headers?: Readonly<Record<string, string | null>>;
  readonly body?: string | Buffer;
  /** Follow redirects (default true). */
  readonly follow?: boolean;
  /** Stop before requesting a redirect target for which this holds. */
  readonly stopBefore?: (url: URL) => boolean;
  readonly maxRedirects?: number;
  /** 'navigate' (default): a top-level page load. 'fetch': a script's fetch() with credentials. */
  readonly mode?: 'navigate' | 'fetch';
  /** The page the request comes from (a link, a form, a script); none for a URL typed in the address bar. */
  readonly initiator?: string;
  readonly timeoutMs?: number;
}

const NAVIGATE_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';

export class Browser {
  readonly jar = new CookieJar();
  /** Every response this browser received, across navigations. */
  readonly history: Hop[] = [];

  /** A top-level navigation to `url`, following redirects. */
  navigate(url: string, opts: RequestOptions = {}): Promise<Page> {
    return this.request(url, { ...opts, mode: 'navigate' });
  }

  /** A script's fetch() with credentials: JSON accepted, `Sec-Fetch-Mode: cors`, no redirect followed by default. */
  fetch(url: string, opts: RequestOptions = {}): Promise<Page> {
    return this.request(url, { follow: false, ...opts, mode: 'fetch' });
  }

  async request(url: string, opts: RequestOptions = {}): Promise<Page> {
    const mode = opts.mode ?? 'navigate';
    const follow = opts.follow ?? true;
    const maxRedirects = opts.maxRedirects ?? 20;
    const hops: Hop[] = [];
    const chainSites = new Set<string>();
    if (opts.initiator !== undefined) chainSites.add(siteOf(new URL(opts.initiator)));
    let current = new URL(url);
    let method = (opts.method ?? 'GET').toUpperCase();
    let body = opts.body;
    let contentType = opts.headers?.['content-type'] ?? opts.headers?.['Content-Type'] ?? undefined;
    for (;;) {
      if (!isLoopbackName(current.hostname)) throw new Error(`the test browser only visits loopback hosts: ${current.href}`);
      chainSites.add(siteOf(current));
      const sameSite = chainSites.size === 1;
      const cookie = this.jar.header(current, { sameSite, topLevel: mode === 'navigate', method });
      const headers: Record<string, string> = {
        host: current.host,
        'user-agent': 'postern-test-browser/1',
        accept: mode === 'navigate' ? NAVIGATE_ACCEPT : 'application/json',
        'sec-fetch-mode': mode === 'navigate' ? 'navigate' : 'cors',
        'sec-fetch-dest': mode === 'navigate' ? 'document' : 'empty',
        'sec-fetch-site': opts.initiator === undefined && hops.length === 0 ? 'none' : sameSite ? 'same-site' : 'cross-site',
      };
      if (cookie !== '') headers['cookie'] = cookie;
      if (body !== undefined) {
        headers['content-length'] = String(Buffer.byteLength(body));
        if (contentType !== undefined) headers['content-type'] = contentType;
        if (opts.initiator !== undefined) headers['origin'] = new URL(opts.initiator).origin;
      }
      for (const [k, v] of Object.entries(opts.headers ?? {})) {
        if (v === null) delete headers[k.toLowerCase()];
        else headers[k.toLowerCase()] = v;
      }
      if (hops.length > 0 && body === undefined) delete headers['content-type'];

      const res = await send(current, method, headers, body, opts.timeoutMs ?? 10_000);
      const setCookies = res.setCookies;
      for (const sc of setCookies) this.jar.store(current, sc);
      const location = typeof res.headers.location === 'string' ? res.headers.location : null;
      const hop: Hop = { method, url: current.href, status: res.status, location, setCookies, sentCookies: cookie };
      hops.push(hop);
      this.history.push(hop);

      const page = (leftLoopback: string | null, stoppedBefore: string | null): Page => makePage(current.href, res, hops, leftLoopback, stoppedBefore);
      const isRedirect = location !== null && [301, 302, 303, 307, 308].includes(res.status);
      if (!follow || !isRedirect) return page(null, null);
      let next: URL;
      try {
        next = new URL(location, current);
      } catch {
        return page(null, null);
      }
      if ((next.protocol !== 'http:' && next.protocol !== 'https:') || !isLoopbackName(next.hostname)) return page(next.href, null);
      if (opts.stopBefore?.(next)) return page(null, next.href);
      if (hops.length > maxRedirects) throw new Error(`more than ${maxRedirects} redirects from ${url}:\n${hops.map((h) => `${h.status} ${h.url}`).join('\n')}`);
      if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === 'POST')) {
        if (method !== 'HEAD') method = 'GET';
        body = undefined;
        contentType = undefined;
      }
      current = next;
    }
  }

  /**
   * Submits a form of `page` (the first with a password field, else the
   * first, unless `formId` names one), with `values` replacing or adding
   * fields, and follows the answer.
   */
  submitForm(page: Page, values: Readonly<Record<string, string>>, opts: RequestOptions & { formId?: string } = {}): Promise<Page> {
    const forms = page.forms();
    const form = opts.formId !== undefined ? forms.find((f) => f.id === opts.formId) : (forms.find((f) => f.passwordField !== null) ?? forms[0]);
    if (form === undefined) throw new Error(`no form on ${page.url} (status ${page.status}):\n${page.text().slice(0, 500)}`);
    const fields = new URLSearchParams();
    const given = new Set(Object.keys(values));
    for (const [k, v] of form.fields) if (!given.has(k)) fields.append(k, v);
    for (const [k, v] of Object.entries(values)) fields.append(k, v);
    if (form.method === 'GET') {
      const target = new URL(form.action);
      target.search = fields.toString();
      return this.navigate(target.href, { ...opts, initiator: page.url });
    }
    return this.navigate(form.action, {
      ...opts,
      method: 'POST',
      body: fields.toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...opts.headers },
      initiator: page.url,
    });
  }

  /**
   * Navigates to `url` and, whenever a page with a password form comes up
   * (the identity provider's sign-in page), fills in the credentials and
   * submits it. Returns the page where the journey ends. The hops of every
   * step are in `history`.
   */
  async signIn(url: string, credentials?: { readonly username: string; readonly password: string }, opts: RequestOptions = {}): Promise<Page> {
    let page = await this.navigate(url, opts);
    for (let attempt = 0; attempt < 3; attempt++) {
      const form = page.forms().find((f) => f.passwordField !== null);
      if (form === undefined) return page;
      if (credentials === undefined) throw new Error(`a sign-in form came up at ${page.url} but no credentials were given`);
      const values: Record<string, string> = { [form.passwordField!]: credentials.password };
      if (form.textFields[0] !== undefined) values[form.textFields[0]] = credentials.username;
      page = await this.submitForm(page, values, opts);
    }
    return page;
  }
}

interface RawAnswer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly setCookies: string[];
  readonly body: Buffer;
}

function send(url: URL, method: string, headers: Record<string, string>, body: string | Buffer | undefined, timeoutMs: number): Promise<RawAnswer> {
  if (url.protocol !== 'http:') return Promise.reject(new Error(`the test browser speaks plain http only: ${url.href}`));
  const host = url.hostname.replace(/^\[|\]$/g, '') === '::1' ? '::1' : '127.0.0.1';
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host, port: Number(url.port || 80), method, path: `${url.pathname}${url.search}`, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const sc = res.headers['set-cookie'];
        resolve({ status: res.statusCode ?? 0, headers: res.headers, setCookies: sc === undefined ? [] : [...sc], body: Buffer.concat(chunks) });
      });
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms: ${method} ${url.href}`)));
    req.on('error', reject);
    req.end(body);
  });
}

function makePage(url: string, res: RawAnswer, hops: readonly Hop[], leftLoopback: string | null, stoppedBefore: string | null): Page {
  return {
    url,
    status: res.status,
    headers: res.headers,
    body: res.body,
    hops,
    leftLoopback,
    stoppedBefore,
    text: () => res.body.toString('utf8'),
    json: <T>() => JSON.parse(res.body.toString('utf8')) as T,
    forms: () => parseForms(res.body.toString('utf8'), url),
  };
}
