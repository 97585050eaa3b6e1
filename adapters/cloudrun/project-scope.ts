/**
 * What the Cloud Run reads of one project share: the project id, its regions (the configured list,
 * or Locations.ListLocations for `regions: all`, read again at the start of every list), the lister,
 * the digest resolver, the provider deps and the activity callback (one `activity` per cluster, i.e.
 * project × region).
 *
 * Failure: `refreshRegions` rejects when ListLocations fails; the regions read before stay in use.
 */
import type { ProviderDeps } from '../../src/provider/adapter.js';
import type { DigestResolver } from './digests.js';
import type { RunLister } from './lister.js';
import { cloudRunClusterId } from './normalizer.js';

export interface ProjectScopeOptions {
  project: string;
  /** Configured regions, or a function resolving them (ListLocations for `regions: all`). */
  regions: () => Promise<string[]>;
  lister: RunLister;
  digests: DigestResolver;
  deps: ProviderDeps;
  onActivity: (clusterId: string) => void;
}

export class ProjectScope {
  readonly project: string;
  readonly lister: RunLister;
  readonly digests: DigestResolver;
  readonly deps: ProviderDeps;
  private current: string[] | undefined;

  constructor(private readonly o: ProjectScopeOptions) {
    this.project = o.project;
    this.lister = o.lister;
    this.digests = o.digests;
    this.deps = o.deps;
  }

  /** The regions read last (read once when none were read yet). */
  async regions(): Promise<string[]> {
    return this.current ?? this.refreshRegions();
  }

  async refreshRegions(): Promise<string[]> {
    this.current = await this.o.regions();
    return this.current;
  }

  async inScope(region: string): Promise<boolean> {
    return (await this.regions()).includes(region);
  }

  /** The region whose cluster id is `clusterId`, when it is one of this project's regions. */
  async regionOfCluster(clusterId: string): Promise<string | undefined> {
    return (await this.regions()).find((r) => cloudRunClusterId(this.project, r) === clusterId);
  }

  activity(region: string): void {
    this.o.onActivity(cloudRunClusterId(this.project, region));
  }
}
