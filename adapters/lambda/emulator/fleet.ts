/**
 * The emulated Lambda fleet of one account, all regions: functions (container-image or zip), their
 * published versions (immutable: each keeps the image it was published with) and aliases with
 * routing weights. Every change is made the way the control plane makes it and recorded as
 * CloudTrail does, with Lambda's versioned event names (`UpdateFunctionCode20150331v2`, ...) and
 * source `lambda.amazonaws.com`; the observer (the EventBridge publisher) sees each state change.
 *
 * Failure: operations on an unknown function throw `FleetError` (ResourceNotFoundException), as the
 * API would answer; nothing is half-applied.
 */
import { createHash } from 'node:crypto';
import { AwsApiError } from '../../aws/emulator/api-error.js';
import type { CloudTrailLog } from '../../aws/emulator/cloudtrail-log.js';

export type PackageType = 'Image' | 'Zip';

export interface EmuVersion {
  version: string;
  arn: string;
  imageUri?: string;
  /** `sha256:<hex>` of the image (Image functions). */
  digest?: string;
  codeSha256: string;
  lastModifiedMs: number;
}

export interface EmuAlias {
  name: string;
  arn: string;
  functionVersion: string;
  /** Additional versions and their weights (0..1); the primary gets the rest. */
  weights: Record<string, number>;
  revisionId: string;
}

export interface EmuFunction {
  name: string;
  region: string;
  arn: string;
  packageType: PackageType;
  imageUri?: string;
  digest?: string;
  codeSha256: string;
  lastModifiedMs: number;
  state: 'Pending' | 'Active' | 'Inactive' | 'Failed';
  tags: Record<string, string>;
  versions: EmuVersion[];
  aliases: Map<string, EmuAlias>;
  nextVersion: number;
  revision: number;
}

/** What a state-change observer sees (the EventBridge publisher). */
export interface FunctionObserver {
  /** `qualifier`: the version published or deleted, when the change is about one. */
  functionChanged(fn: EmuFunction, change: FunctionChange, qualifier?: string): void;
}

export type FunctionChange = 'created' | 'updated' | 'published' | 'deleted';

/** A refused fleet operation or API call: Lambda's exception name and HTTP status (404 unless said). */
export class FleetError extends AwsApiError {
  constructor(type: string, message: string, status = 404) {
    super(type, message, status);
  }
}

export interface CreateFunctionInput {
  name: string;
  region?: string;
  packageType?: PackageType;
  imageUri?: string;
  tags?: Record<string, string>;
  /** Record a CloudTrail event (default true; seeding turns it off). */
  recordEvent?: boolean;
}

export interface GenerateInput {
  regions: string[];
  /** Functions in total, spread over the regions. */
  functions: number;
  versionsPerFunction: number;
  /** Every n-th function is a zip function (0: none). */
  zipEvery?: number;
}

/** The digest the emulated registry gives `imageUri` at push number `push`. */
export function digestOf(imageUri: string, push = 0): string {
  return `sha256:${createHash('sha256').update(`${imageUri}#${push}`).digest('hex')}`;
}

export class LambdaFleet {
  observer: FunctionObserver | undefined;
  private readonly functions = new Map<string, EmuFunction>(); // by `<region>/<name>`
  private pushes = 0;

  constructor(
    readonly account: string,
    readonly defaultRegion: string,
    private readonly now: () => number,
    private readonly trail: CloudTrailLog,
  ) {}

  get size(): number {
    return this.functions.size;
  }

  /** Functions of `region`, in name order (ListFunctions' order). */
  list(region: string): EmuFunction[] {
    return [...this.functions.values()]
      .filter((f) => f.region === region)
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** A function by name, ARN or partial ARN (`name:qualifier` keeps only the name). */
  find(region: string, ref: string): EmuFunction | undefined {
    return this.functions.get(`${region}/${functionNameOf(ref)}`);
  }

  get(region: string, ref: string): EmuFunction {
    const fn = this.find(region, ref);
    if (!fn)
      throw new FleetError(
        'ResourceNotFoundException',
        `Function not found: arn:aws:lambda:${region}:${this.account}:function:${functionNameOf(ref)}`,
      );
    return fn;
  }

  createFunction(input: CreateFunctionInput): EmuFunction {
    const region = input.region ?? this.defaultRegion;
    const packageType = input.packageType ?? 'Image';
    const arn = `arn:aws:lambda:${region}:${this.account}:function:${input.name}`;
    const now = this.now();
    const imageUri =
      packageType === 'Image'
        ? (input.imageUri ?? `${this.account}.dkr.ecr.${region}.amazonaws.com/${input.name}:latest`)
        : undefined;
    const digest = imageUri !== undefined ? digestOf(imageUri, ++this.pushes) : undefined;
    const fn: EmuFunction = {
      name: input.name,
      region,
      arn,
      packageType,
      ...(imageUri !== undefined ? { imageUri } : {}),
      ...(digest !== undefined ? { digest } : {}),
      codeSha256: codeShaOf(digest ?? `${input.name}.zip#${now}`),
      lastModifiedMs: now,
      state: 'Active',
      tags: { ...(input.tags ?? {}) },
      versions: [],
      aliases: new Map(),
      nextVersion: 1,
      revision: 1,
    };
    this.functions.set(`${region}/${input.name}`, fn);
    if (input.recordEvent !== false)
      this.record(fn, 'CreateFunction20150331', {
        functionName: input.name,
        packageType,
        ...(imageUri !== undefined ? { code: { imageUri } } : {}),
      });
    this.observer?.functionChanged(fn, 'created');
    return fn;
  }

  /** A new image pushed and deployed to `$LATEST` (UpdateFunctionCode with ImageUri). */
  updateFunctionCode(input: {
    name: string;
    region?: string;
    imageUri: string;
    /** The digest the push resolved to (default: a new one). */
    digest?: string;
    recordEvent?: boolean;
  }): EmuFunction {
    const fn = this.get(input.region ?? this.defaultRegion, input.name);
    if (fn.packageType !== 'Image')
      throw new FleetError(
        'InvalidParameterValueException',
        'Please provide ImageUri only for Image functions',
        400,
      );
    fn.imageUri = input.imageUri;
    fn.digest = input.digest ?? digestOf(input.imageUri, ++this.pushes);
    fn.codeSha256 = codeShaOf(fn.digest);
    this.touch(fn);
    if (input.recordEvent !== false)
      this.record(fn, 'UpdateFunctionCode20150331v2', { functionName: fn.name, imageUri: input.imageUri });
    this.observer?.functionChanged(fn, 'updated');
    return fn;
  }

  updateFunctionConfiguration(input: { name: string; region?: string }): EmuFunction {
    const fn = this.get(input.region ?? this.defaultRegion, input.name);
    this.touch(fn);
    this.record(fn, 'UpdateFunctionConfiguration20150331v2', { functionName: fn.name });
    this.observer?.functionChanged(fn, 'updated');
    return fn;
  }

  publishVersion(input: { name: string; region?: string; recordEvent?: boolean }): EmuVersion {
    const fn = this.get(input.region ?? this.defaultRegion, input.name);
    const version = String(fn.nextVersion++);
    const v: EmuVersion = {
      version,
      arn: `${fn.arn}:${version}`,
      ...(fn.imageUri !== undefined ? { imageUri: fn.imageUri } : {}),
      ...(fn.digest !== undefined ? { digest: fn.digest } : {}),
      codeSha256: fn.codeSha256,
      lastModifiedMs: this.now(),
    };
    fn.versions.push(v);
    if (input.recordEvent !== false)
      this.record(fn, 'PublishVersion20150331', { functionName: fn.name }, { version });
    this.observer?.functionChanged(fn, 'published', version);
    return v;
  }

  /** Creates or updates an alias (UpdateAlias when it exists). */
  setAlias(input: {
    name: string;
    region?: string;
    alias: string;
    version: string;
    weights?: Record<string, number>;
    recordEvent?: boolean;
  }): EmuAlias {
    const fn = this.get(input.region ?? this.defaultRegion, input.name);
    const exists = fn.aliases.get(input.alias);
    const a: EmuAlias = {
      name: input.alias,
      arn: `${fn.arn}:${input.alias}`,
      functionVersion: input.version,
      weights: { ...(input.weights ?? {}) },
      revisionId: `${fn.name}-${input.alias}-${(exists ? Number(exists.revisionId.split('-').pop()) : 0) + 1}`,
    };
    fn.aliases.set(input.alias, a);
    if (input.recordEvent !== false)
      this.record(fn, exists ? 'UpdateAlias20150331' : 'CreateAlias20150331', {
        functionName: fn.name,
        name: input.alias,
        functionVersion: input.version,
        ...(input.weights ? { routingConfig: { additionalVersionWeights: input.weights } } : {}),
      });
    return a;
  }

  tagResource(input: { name: string; region?: string; tags: Record<string, string> }): EmuFunction {
    const fn = this.get(input.region ?? this.defaultRegion, input.name);
    Object.assign(fn.tags, input.tags);
    this.record(fn, 'TagResource20170331v2', { resource: fn.arn, tags: input.tags });
    return fn;
  }

  deleteFunction(input: { name: string; region?: string }): void {
    const fn = this.get(input.region ?? this.defaultRegion, input.name);
    this.functions.delete(`${fn.region}/${fn.name}`);
    this.record(fn, 'DeleteFunction20150331', { functionName: fn.name });
    this.observer?.functionChanged(fn, 'deleted');
  }

  /** A large fleet for benchmarks: no events recorded. */
  generate(input: GenerateInput): void {
    for (let i = 0; i < input.functions; i++) {
      const region = input.regions[i % input.regions.length] ?? this.defaultRegion;
      const zip = (input.zipEvery ?? 0) > 0 && i % (input.zipEvery ?? 1) === 0;
      const name = `fn-${String(i).padStart(5, '0')}`;
      this.createFunction({
        name,
        region,
        packageType: zip ? 'Zip' : 'Image',
        tags: { team: `team-${i % 7}` },
        recordEvent: false,
      });
      if (zip) continue;
      for (let v = 0; v < input.versionsPerFunction; v++) {
        if (v > 0) {
          this.updateFunctionCode({
            name,
            region,
            imageUri: `${this.account}.dkr.ecr.${region}.amazonaws.com/${name}:v${v}`,
            recordEvent: false,
          });
        }
        this.publishVersion({ name, region, recordEvent: false });
      }
      this.setAlias({
        name,
        region,
        alias: 'live',
        version: String(input.versionsPerFunction),
        recordEvent: false,
      });
    }
  }

  private touch(fn: EmuFunction): void {
    // Lambda's LastModified has millisecond precision; two updates in one ms still differ.
    fn.lastModifiedMs = Math.max(this.now(), fn.lastModifiedMs + 1);
    fn.revision++;
  }

  private record(
    fn: EmuFunction,
    eventName: string,
    requestParameters: Record<string, unknown>,
    responseElements?: Record<string, unknown>,
  ): void {
    this.trail.record({
      region: fn.region,
      eventName,
      eventSource: 'lambda.amazonaws.com',
      readOnly: false,
      requestParameters,
      responseElements: { functionName: fn.name, functionArn: fn.arn, ...(responseElements ?? {}) },
      resources: [{ ResourceType: 'AWS::Lambda::Function', ResourceName: fn.arn }],
      username: 'deployer',
    });
  }
}

/** `name`, `name:qualifier`, `arn:aws:lambda:r:a:function:name[:qualifier]`, `a:function:name` -> name. */
export function functionNameOf(ref: string): string {
  const i = ref.indexOf('function:');
  const rest = i >= 0 ? ref.slice(i + 'function:'.length) : ref;
  const colon = rest.indexOf(':');
  return colon >= 0 ? rest.slice(0, colon) : rest;
}

/** Lambda's CodeSha256 of an image function: the image digest's hex. */
function codeShaOf(digestOrSeed: string): string {
  return digestOrSeed.startsWith('sha256:')
    ? digestOrSeed.slice('sha256:'.length)
    : createHash('sha256').update(digestOrSeed).digest('base64');
}
