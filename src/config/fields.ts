/**
 * The config's field types shared by the core sections and the providers' sections: durations in
 * whole milliseconds with a stated range, http(s) URLs and host:port addresses. Each refuses a
 * wrong value with a message that states what is expected, so `validate` can print it as is.
 */
import { z } from 'zod';

/**
 * A duration field: whole milliseconds within [minMs, maxMs], both well under 2^31 ms (Node timers
 * fire at once, in a loop, for longer delays). The message states the range for every kind of
 * wrong value (not a number, fractional, negative, too large).
 */
export interface DurationRange {
  minMs: number;
  maxMs: number;
}

/** The duration field named `what` (the name appears in the message), within `range`. */
export function durationMs(what: string, range: DurationRange) {
  const { minMs, maxMs } = range;
  const error = `${what} must be a whole number of milliseconds between ${minMs} and ${maxMs}`;
  return z.number({ error }).int({ error }).min(minMs, { error }).max(maxMs, { error });
}

function isHttpUrl(value: string): boolean {
  try {
    const u = new URL(value);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname.length > 0;
  } catch {
    return false;
  }
}

export const httpUrl = z
  .string()
  .refine(isHttpUrl, { error: 'must be an http:// or https:// URL, e.g. https://issuer.example.com' });

/** host:port with a port in [minPort, 65535] (0 only where a free port may be picked). */
export const hostPortWithMin = (minPort: number) =>
  z
    .string()
    .regex(/^(?:\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):[0-9]{1,5}$/, {
      error: 'must be host:port, e.g. 127.0.0.1:8443',
    })
    .refine(
      (v) => {
        const port = Number(v.slice(v.lastIndexOf(':') + 1));
        return port >= minPort && port <= 65535;
      },
      { error: `the port must be between ${minPort} and 65535` },
    );

export const hostPort = hostPortWithMin(1);
