/**
 * An error an AWS emulator answers a call with: AWS's exception name (`type`, e.g.
 * `InvalidParameterException`), its message and the HTTP status (400 unless said). Handlers and the
 * shared CloudTrail LookupEvents throw it; each server writes it in its protocol's error shape
 * (awsJson `{"__type","message"}`, REST-JSON `x-amzn-errortype`).
 */
export class AwsApiError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}
