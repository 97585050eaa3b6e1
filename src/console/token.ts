/**
 * The console bearer token, read from a file and re-read whenever the file changes (size, mtime or
 * inode differ; atomic replacement by rename counts). The token itself is never logged or put into
 * an error message: errors name the file and the problem only (for a bad character: its position
 * and class, never the character's neighbours).
 *
 * A token must be one line of printable ASCII (0x21-0x7E): what an HTTP/2 header (gRPC metadata)
 * can carry. Checking here, where the token is read, keeps a pasted zero-width space or a stray
 * control character out of grpc-js, whose "Metadata string value ... contains illegal characters"
 * error would quote the token. Such a token is a configuration error (`validate` refuses it, the
 * client treats it like a missing token: not retried until the file changes), never a transient one.
 * The same checks back `sightline validate`, `run` and the `clusters list` / `console serve` flags.
 */
import { statSync } from 'node:fs';
import { FileReadError, readBoundedTextFile } from '../config/read.js';

/** The largest token file read (real bearer tokens and JWTs are a few KiB). */
const TOKEN_MAX_BYTES = 16 * 1024;

export class TokenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TokenError';
  }
}

function characterClass(code: number): string {
  if (code === 0x20) return 'a space';
  if (code < 0x20 || code === 0x7f) return 'a control character';
  if ((code >= 0x80 && code <= 0x9f) || (code >= 0x200b && code <= 0x200f) || code === 0xfeff)
    return 'an invisible non-ASCII character (e.g. a zero-width space from a copy-paste)';
  return 'a non-ASCII character';
}

/**
 * What is wrong with a token (already trimmed), or undefined. Names the 1-based character position
 * and the character's class; never the token or any part of it.
 */
export function tokenProblem(value: string): string | undefined {
  if (value.length === 0) return 'is empty';
  if (/[\r\n]/.test(value)) return 'holds more than one line';
  let position = 0;
  for (const ch of value) {
    position += 1;
    const code = ch.codePointAt(0) ?? 0;
    if (code < 0x21 || code > 0x7e)
      return `has ${characterClass(code)} at character ${position}; a token is printable ASCII only`;
  }
  return undefined;
}

/** Reads and checks the token in `path`; throws TokenError naming the file and the problem. */
export function readTokenFile(path: string): string {
  let text: string;
  try {
    text = readBoundedTextFile(path, TOKEN_MAX_BYTES);
  } catch (err) {
    if (err instanceof FileReadError) {
      throw new TokenError(
        err.code !== undefined
          ? `cannot read console token file ${path}: ${err.code}`
          : `console token file ${path} ${err.message}`,
      );
    }
    throw err;
  }
  const value = text.trim();
  const problem = tokenProblem(value);
  if (problem !== undefined) throw new TokenError(`console token file ${path} ${problem}`);
  return value;
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
      this.token = readTokenFile(this.path);
      this.error = undefined;
    } catch (err) {
      this.token = undefined;
      this.error = err instanceof TokenError ? err.message : `cannot read console token file ${this.path}`;
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
