/**
 * The console bearer token, read from a file and re-read whenever the file changes (size, mtime or
 * inode differ; atomic replacement by rename counts). The token itself is never logged or put into
 * an error message: errors name the file and the problem only.
 */
import { readFileSync, statSync } from 'node:fs';

export class TokenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TokenError';
  }
}

export class TokenFile {
  private signature = '';
  private token: string | undefined;
  private error: string | undefined;

  constructor(readonly path: string) {}

  /** Re-reads the file when it changed. Returns true when the token (or its error) changed. */
  refresh(): boolean {
    let sig: string;
    try {
      const s = statSync(this.path);
      sig = `${s.ino}:${s.size}:${s.mtimeMs}`;
    } catch (err) {
      sig = `missing:${(err as NodeJS.ErrnoException).code ?? 'error'}`;
    }
    if (sig === this.signature) return false;
    this.signature = sig;
    const before = `${this.token ?? ''}\u0000${this.error ?? ''}`;
    try {
      const value = readFileSync(this.path, 'utf8').trim();
      if (value.length === 0) {
        this.token = undefined;
        this.error = `console token file ${this.path} is empty`;
      } else if (/[\r\n\0]/.test(value)) {
        this.token = undefined;
        this.error = `console token file ${this.path} holds more than one line`;
      } else {
        this.token = value;
        this.error = undefined;
      }
    } catch (err) {
      this.token = undefined;
      this.error = `cannot read console token file ${this.path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`;
    }
    return before !== `${this.token ?? ''}\u0000${this.error ?? ''}`;
  }

  /** The current token; throws TokenError (without the token) when there is none. */
  current(): string {
    this.refresh();
    if (this.token === undefined) throw new TokenError(this.error ?? `no console token in ${this.path}`);
    return this.token;
  }
}
