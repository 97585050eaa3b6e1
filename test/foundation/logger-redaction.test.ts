import { describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { providers } from '../../adapters/index.js';
import { secretFieldNames } from '../../src/provider/registration.js';
import { createLogger, redactSecrets } from '../../src/runtime/logger.js';

function capture(): { lines: string[]; stream: Writable } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  return { lines, stream };
}

describe('log redaction', () => {
  it("redacts secret-bearing fields at any depth (with the providers' fields, as the CLI makes it)", () => {
    const { lines, stream } = capture();
    const log = createLogger({
      destination: stream,
      level: 'debug',
      secretFields: secretFieldNames(providers),
    });
    log.info(
      {
        token: 'tok-123456',
        console: { bearerToken: 'bt-abcdef', address: 'c:443' },
        credentials: { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'wJalrEXAMPLEKEY' },
        ecs: { assumeRole: { externalId: 'ext-999' } },
        headers: { authorization: 'Bearer xyz' },
      },
      'starting',
    );
    const out = lines.join('');
    for (const secret of [
      'tok-123456',
      'bt-abcdef',
      'AKIAEXAMPLE',
      'wJalrEXAMPLEKEY',
      'ext-999',
      'Bearer xyz',
    ]) {
      expect(out).not.toContain(secret);
    }
    expect(out).toContain('[REDACTED]');
    expect(out).toContain('c:443');
  });

  it('scrubs secrets from error messages and stacks', () => {
    const { lines, stream } = capture();
    const log = createLogger({ destination: stream });
    const err = new Error('request failed: authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig');
    log.error({ err }, 'push failed');
    const out = lines.join('');
    expect(out).not.toContain('eyJhbGciOiJIUzI1NiJ9');
    expect(out).toContain('push failed');
  });

  it.each([
    ['Authorization: Bearer abc.def.ghi', 'abc.def.ghi'],
    ['aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', 'wJalrXUtnFEMI'],
    ['{"token":"s3cr3t-value"}', 's3cr3t-value'],
    ['password: hunter2hunter2', 'hunter2hunter2'],
    ['-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\n-----END PRIVATE KEY-----', 'MIIEvQIBADANBg'],
  ])('redactSecrets(%j) hides the secret', (text, secret) => {
    const out = redactSecrets(text);
    expect(out).not.toContain(secret);
    expect(out).toContain('[REDACTED]');
  });

  it('leaves ordinary text alone', () => {
    expect(redactSecrets('listed 42 tasks in us-east-1')).toBe('listed 42 tasks in us-east-1');
  });
});
