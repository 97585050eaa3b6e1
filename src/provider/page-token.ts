/**
 * The one page-token codec of the adapters: a token is the JSON of a small position object in
 * base64url, opaque to the engine. Each token kind gives a `read` function that checks the parsed
 * value and returns the position, or undefined when the value is not one.
 *
 * The one failure rule: a token that does not decode, or whose value `read` refuses, is a
 * `PageTokenError`. The caller turns it into a restart from the beginning (the first page of the
 * list, or a `gap` for a change-feed cursor, which makes the engine relist); `TokenRestarts`
 * reports it, logging only the first restart of each source and counting all of them.
 */
import type { Logger } from '../runtime/logger.js';

export class PageTokenError extends Error {
  constructor(
    readonly kind: string,
    reason: string,
  ) {
    super(`unreadable ${kind} token: ${reason}`);
    this.name = 'PageTokenError';
  }
}

export class PageTokenCodec<T> {
  /**
   * @param kind names the token in errors and logs (e.g. `ecs-cluster-page`).
   * @param read returns the position the parsed JSON value holds, or undefined when it holds none.
   */
  constructor(
    readonly kind: string,
    private readonly read: (value: unknown) => T | undefined,
  ) {}

  encode(position: T): string {
    return Buffer.from(JSON.stringify(position)).toString('base64url');
  }

  /** The position `token` holds; throws PageTokenError when it holds none. */
  decode(token: string): T {
    let value: unknown;
    try {
      value = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    } catch {
      throw new PageTokenError(this.kind, 'not base64url JSON');
    }
    const position = this.read(value);
    if (position === undefined) throw new PageTokenError(this.kind, 'not a position');
    return position;
  }
}

/**
 * Reports restarts caused by unreadable tokens: one warning per reporter (the first restart),
 * later ones at debug; `count` holds them all.
 */
export class TokenRestarts {
  private restarts = 0;

  constructor(
    private readonly logger: Pick<Logger, 'warn' | 'debug'>,
    private readonly sourceId: string,
  ) {}

  report(err: PageTokenError): void {
    this.restarts++;
    const fields = { source: this.sourceId, kind: err.kind, reason: err.message };
    if (this.restarts === 1) this.logger.warn(fields, 'unreadable token: restarting from the beginning');
    else this.logger.debug(fields, 'unreadable token: restarting from the beginning');
  }

  get count(): number {
    return this.restarts;
  }
}

/**
 * The failure rule in one call: the position of `token`, `start` when there is no token, and
 * `start` (reported to `restarts`) when the token is unreadable. Other errors propagate.
 */
export function decodeOrRestart<T>(
  codec: PageTokenCodec<T>,
  token: string | undefined,
  start: T,
  restarts: TokenRestarts,
): T {
  if (token === undefined) return start;
  try {
    return codec.decode(token);
  } catch (err) {
    if (!(err instanceof PageTokenError)) throw err;
    restarts.report(err);
    return start;
  }
}
