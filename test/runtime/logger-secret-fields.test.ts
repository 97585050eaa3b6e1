/**
 * The logger redacts the secret fields the provider registrations declare (`secretPaths` leaves and
 * `redactedFields`), handed in by the composition root, besides its generic names; `redactSecrets`
 * still scrubs free text (error messages) on its own. `src/runtime` names no provider field.
 */
import { describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { providers } from '../../adapters/index.js';
import { secretFieldNames } from '../../src/provider/registration.js';
import { createLogger, redactPaths, redactSecrets } from '../../src/runtime/logger.js';

function capture(): { text: () => string; stream: Writable } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  return { text: () => lines.join(''), stream };
}

describe('logger secret fields from the provider registrations', () => {
  it('names every secretPaths leaf of every registration, and the redacted fields', () => {
    const names = secretFieldNames(providers);
    for (const p of providers) for (const path of p.secretPaths) expect(names).toContain(path.at(-1));
    expect(names).toEqual(
      expect.arrayContaining(['accessKeyId', 'secretAccessKey', 'sessionToken', 'externalId']),
    );
  });

  it('redacts an ECS secret field in a log line, at the top and nested, outside a credentials object', () => {
    const { text, stream } = capture();
    const log = createLogger({
      destination: stream,
      level: 'debug',
      secretFields: secretFieldNames(providers),
    });
    log.info(
      {
        secretAccessKey: 'wJalrTOPLEVEL',
        sessionToken: 'FwoGSESSION',
        aws: { accessKeyId: 'AKIANESTED' },
        ecs: { assumeRole: { externalId: 'ext-4242', roleArn: 'arn:aws:iam::1:role/r' } },
      },
      'assumed role',
    );
    const out = text();
    for (const secret of ['wJalrTOPLEVEL', 'FwoGSESSION', 'AKIANESTED', 'ext-4242'])
      expect(out).not.toContain(secret);
    expect(out).toContain('arn:aws:iam::1:role/r');
    expect(out).toContain('[REDACTED]');
  });

  it('leaves a provider field alone when no registration names it (the names come from the registrations)', () => {
    const { text, stream } = capture();
    const log = createLogger({ destination: stream, level: 'debug' });
    log.info({ secretAccessKey: 'visible-without-registrations', token: 'tok-generic' }, 'x');
    expect(text()).toContain('visible-without-registrations');
    expect(text()).not.toContain('tok-generic');
  });

  it('still scrubs secrets from error messages, in a log line and through redactSecrets', () => {
    const { text, stream } = capture();
    const log = createLogger({ destination: stream, secretFields: secretFieldNames(providers) });
    const message =
      'ListTasks failed: aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY, Authorization: Bearer eyJhbGciOi.payload.sig';
    log.error({ err: new Error(message) }, 'poll failed');
    expect(text()).not.toContain('wJalrXUtnFEMI');
    expect(text()).not.toContain('eyJhbGciOi');
    expect(text()).toContain('poll failed');
    const scrubbed = redactSecrets(message);
    expect(scrubbed).not.toContain('wJalrXUtnFEMI');
    expect(scrubbed).not.toContain('eyJhbGciOi');
    expect(scrubbed).toContain('ListTasks failed');
  });

  it('refuses a field name pino could not match, instead of leaving it unredacted', () => {
    expect(() => redactPaths(['x-api-key'])).toThrow(/not an identifier/);
  });
});
