/**
 * Config fields every AWS provider's section shares: account and region formats, and the
 * credentials (the default chain, assume-role with an external id, or static keys by `${VAR}`
 * reference), validated with zod so every error names the field path.
 */
import { z } from 'zod';

export const AWS_REGION_RE = /^(?:[a-z]{2}|us-gov|us-iso[a-z]?|cn)-[a-z]+-[0-9]$/;
export const AWS_ACCOUNT_RE = /^[0-9]{12}$/;
const ROLE_ARN_RE = /^arn:aws[a-z-]*:iam::[0-9]{12}:role\/[\w+=,.@/-]{1,512}$/;

export const awsCredentials = z.discriminatedUnion('source', [
  z.strictObject({ source: z.literal('default') }),
  z.strictObject({
    source: z.literal('assumeRole'),
    roleArn: z
      .string()
      .regex(ROLE_ARN_RE, { error: 'not an IAM role ARN (arn:aws:iam::123456789012:role/NAME)' }),
    /** Secret by reference: `${VAR}`. */
    externalId: z.string().min(2).max(1224),
    sessionName: z
      .string()
      .regex(/^[\w+=,.@-]{2,64}$/)
      .default('sightline'),
  }),
  /** Static keys, by `${VAR}` reference only (emulator / tests). */
  z.strictObject({
    source: z.literal('static'),
    accessKeyId: z.string().min(1),
    secretAccessKey: z.string().min(1),
    sessionToken: z.string().optional(),
  }),
]);

export type AwsCredentialsConfig = z.infer<typeof awsCredentials>;
