/**
 * Who may read the web view: a request carrying the console's bearer token (`Authorization: Bearer
 * TOKEN`), or a browser holding a session cookie that the login form set after the same token was
 * typed in. Tokens are compared in constant time (SHA-256 of both, then timingSafeEqual, so length
 * leaks nothing). The cookie never holds the token: it is `issuedMs.HMAC(key, issuedMs)` with a key
 * drawn at start-up, so it is worthless after `sessionTtlMs` or a restart, and it is HttpOnly and
 * SameSite=Strict (no script can read it, no other site can send it). Nothing here logs anything.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

const sessionCookieName = 'sightline_session';
const sessionTtlMs = 12 * 60 * 60 * 1000;

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** Constant-time equality of two secrets of any length. */
function secretsEqual(a: string, b: string): boolean {
  return timingSafeEqual(sha256(a), sha256(b));
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export class WebAuth {
  private readonly key = randomBytes(32);

  constructor(
    private readonly token: string,
    private readonly nowMs: () => number,
  ) {}

  /** True when `typed` is the console token. */
  tokenMatches(typed: string): boolean {
    return secretsEqual(typed, this.token);
  }

  private sign(issuedMs: number): string {
    return createHmac('sha256', this.key).update(String(issuedMs)).digest('base64url');
  }

  /** A fresh session cookie value. */
  newSession(): string {
    const issued = this.nowMs();
    return `${issued}.${this.sign(issued)}`;
  }

  /** The Set-Cookie header value for a new session, or one that clears it (`value` ''). */
  setCookie(value: string): string {
    const maxAge = value === '' ? 0 : Math.floor(sessionTtlMs / 1000);
    return `${sessionCookieName}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAge}`;
  }

  private sessionValid(value: string): boolean {
    const dot = value.indexOf('.');
    if (dot <= 0) return false;
    const issued = Number(value.slice(0, dot));
    if (!Number.isSafeInteger(issued)) return false;
    const age = this.nowMs() - issued;
    if (age < 0 || age > sessionTtlMs) return false;
    return secretsEqual(value.slice(dot + 1), this.sign(issued));
  }

  /** True when the request carries the bearer token or a valid session cookie. */
  allows(req: IncomingMessage): boolean {
    const header = req.headers.authorization;
    if (header !== undefined) return secretsEqual(header, `Bearer ${this.token}`);
    const session = cookieValue(req.headers.cookie, sessionCookieName);
    return session !== undefined && this.sessionValid(session);
  }
}
