/**
 * A minimal STS AssumeRole (awsQuery: form-encoded request, XML response) so that assume-role
 * configurations are tested without any real endpoint. Records every call (RoleArn, ExternalId,
 * RoleSessionName); when an expected external id is set for a role, a different one is refused with
 * AccessDenied, as a trust policy with `sts:ExternalId` would.
 */

export interface AssumeRoleCall {
  roleArn: string;
  externalId?: string;
  roleSessionName: string;
  durationSeconds?: number;
  accessKeyId: string;
}

export class StsEmulator {
  readonly calls: AssumeRoleCall[] = [];
  /** RoleArn -> the external id its trust policy requires. */
  readonly requiredExternalIds = new Map<string, string>();
  /** Lifetime of issued credentials (emulator clock). */
  credentialsTtlMs = 60 * 60 * 1000;
  private issued = 0;

  constructor(private readonly now: () => number) {}

  handle(body: string): { status: number; xml: string } {
    const form = new URLSearchParams(body);
    const action = form.get('Action');
    if (action !== 'AssumeRole')
      return this.error(400, 'InvalidAction', `Unsupported action ${action ?? ''}`);
    const roleArn = form.get('RoleArn');
    const roleSessionName = form.get('RoleSessionName');
    if (!roleArn || !roleSessionName)
      return this.error(400, 'ValidationError', 'RoleArn and RoleSessionName are required');
    const externalId = form.get('ExternalId') ?? undefined;
    const required = this.requiredExternalIds.get(roleArn);
    if (required !== undefined && required !== externalId) {
      return this.error(
        403,
        'AccessDenied',
        `User is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`,
      );
    }
    this.issued++;
    const accessKeyId = `ASIAEMU${String(this.issued).padStart(13, '0')}`;
    const duration = form.get('DurationSeconds');
    this.calls.push({
      roleArn,
      roleSessionName,
      accessKeyId,
      ...(externalId !== undefined ? { externalId } : {}),
      ...(duration !== null ? { durationSeconds: Number(duration) } : {}),
    });
    const expiration = new Date(this.now() + this.credentialsTtlMs).toISOString();
    const account = roleArn.split(':')[4] ?? '000000000000';
    const roleName = roleArn.split('/').pop() ?? 'role';
    const xml =
      `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>` +
      `<Credentials><AccessKeyId>${accessKeyId}</AccessKeyId><SecretAccessKey>emulatorSecret${this.issued}</SecretAccessKey>` +
      `<SessionToken>emulatorSessionToken${this.issued}</SessionToken><Expiration>${expiration}</Expiration></Credentials>` +
      `<AssumedRoleUser><AssumedRoleId>AROAEMULATOR:${escapeXml(roleSessionName)}</AssumedRoleId>` +
      `<Arn>arn:aws:sts::${account}:assumed-role/${escapeXml(roleName)}/${escapeXml(roleSessionName)}</Arn></AssumedRoleUser>` +
      `</AssumeRoleResult><ResponseMetadata><RequestId>emu-${this.issued}</RequestId></ResponseMetadata></AssumeRoleResponse>`;
    return { status: 200, xml };
  }

  private error(status: number, code: string, message: string): { status: number; xml: string } {
    return {
      status,
      xml:
        `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>` +
        `<Code>${code}</Code><Message>${escapeXml(message)}</Message></Error><RequestId>emu</RequestId></ErrorResponse>`,
    };
  }
}

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
