// The loaded policy versions and the deployment that routes between them, with
// hot swap: a new deployment's engines are loaded first, then the routing spec is
// switched in one assignment, and an engine that is no longer deployed is closed
// only after its last in-flight request released it. No request is dropped by a
// promotion or a rollback.
import type { PolicyBackend, PolicyLoader } from '../engine/policy-backend.js';
import { deploymentVersions, validateDeployment, type DeploymentSpec } from './router.js';

export interface VersionSource {
  version: string;
  /** absolute artifact directory handed to the loader */
  artifactDir: string;
}

interface LoadedVersion {
  version: string;
  artifactDir: string;
  backend: PolicyBackend;
  leases: number;
  /** no longer deployed: close when leases reach 0 */
  draining: boolean;
  closed: Promise<void> | null;
}

export interface Lease {
  version: string;
  backend: PolicyBackend;
  release(): void;
}

export class ModelNotServedError extends Error {
  readonly retriable = false;
  constructor(readonly version: string) {
    super(`model version ${version} is not served`);
    this.name = 'ModelNotServedError';
  }
}

export class ModelPool {
  private readonly loaded = new Map<string, LoadedVersion>();
  private spec: DeploymentSpec | null = null;
  /** serialises swaps: two model events arriving together must not interleave loads */
  private swapChain: Promise<unknown> = Promise.resolve();
  private closing = false;

  constructor(
    private readonly loader: PolicyLoader,
    /** progress of swaps and reloads; `level` 'error' for what an operator must see */
    private readonly onEvent: (msg: string, fields: Record<string, unknown>, level?: 'info' | 'error') => void = () => {},
  ) {}

  deployment(): DeploymentSpec {
    if (!this.spec) throw new ModelNotServedError('(none: no deployment loaded yet)');
    return this.spec;
  }

  isReady(): boolean {
    return this.spec !== null;
  }

  /** Versions that can be requested by name right now (deployed, not draining). */
  servableVersions(): string[] {
    return [...this.loaded.values()].filter((v) => !v.draining).map((v) => v.version);
  }

  /** All loaded backends, including draining ones (for stats/metrics). */
  backends(): Array<{ version: string; backend: PolicyBackend; draining: boolean; leases: number }> {
    return [...this.loaded.values()].map((v) => ({ version: v.version, backend: v.backend, draining: v.draining, leases: v.leases }));
  }

  acquire(version: string): Lease {
    const v = this.loaded.get(version);
    if (!v || v.draining) throw new ModelNotServedError(version);
    v.leases++;
    let released = false;
    return {
      version,
      backend: v.backend,
      release: () => {
        if (released) return;
        released = true;
        v.leases--;
        if (v.draining && v.leases === 0) void this.closeVersion(v);
      },
    };
  }

  /**
   * Apply a deployment: load missing versions, switch, drain the rest. Resolves once
   * the switch happened (draining engines close later, when their last lease ends).
   * On a load failure the previous deployment stays in place and the error is thrown.
   */
  apply(spec: DeploymentSpec, sources: VersionSource[]): Promise<void> {
    const run = async () => {
      validateDeployment(spec);
      const byVersion = new Map(sources.map((s) => [s.version, s]));
      const wanted = deploymentVersions(spec);
      const fresh: LoadedVersion[] = [];
      try {
        for (const version of wanted) {
          const existing = this.loaded.get(version);
          if (existing && !existing.draining) continue;
          const src = byVersion.get(version);
          if (!src) throw new Error(`deployment ${spec.id}: no artifact known for version ${version}`);
          const started = Date.now();
          const backend = await this.loader(src.artifactDir);
          const entry: LoadedVersion = { version, artifactDir: src.artifactDir, backend, leases: 0, draining: false, closed: null };
          this.watch(entry);
          fresh.push(entry);
          this.onEvent('policy version loaded', { version, artifactDir: src.artifactDir, ms: Date.now() - started });
        }
      } catch (err) {
        await Promise.allSettled(fresh.map((f) => f.backend.close()));
        throw err;
      }
      // The switch: synchronous from here on, so no request sees a half-applied deployment.
      for (const f of fresh) {
        const old = this.loaded.get(f.version);
        // A draining engine of the same version is re-deployed: keep it draining under
        // a private key so it still closes, and serve new requests on the fresh load.
        if (old) this.loaded.set(`${f.version}#draining#${Date.now()}`, old);
        this.loaded.set(f.version, f);
      }
      const previous = this.spec;
      this.spec = spec;
      for (const [key, v] of this.loaded) {
        if (!wanted.includes(key) && !v.draining) {
          v.draining = true;
          this.onEvent('policy version draining', { version: v.version, inFlight: v.leases });
          if (v.leases === 0) void this.closeVersion(v);
        }
      }
      this.onEvent('deployment applied', {
        deployment: spec.id,
        production: spec.production,
        canary: spec.canary?.version ?? null,
        canaryWeight: spec.canary?.weight ?? 0,
        shadow: spec.shadow,
        previous: previous?.id ?? null,
      });
    };
    const p = this.swapChain.then(run, run);
    this.swapChain = p.catch(() => undefined);
    return p;
  }

  /** Reload a version whose backend died on its own, for as long as it stays deployed. */
  private watch(entry: LoadedVersion): void {
    entry.backend.onFailure?.((error) => {
      this.onEvent('policy version failed; reloading it', { version: entry.version, error: error.message }, 'error');
      const attempt = (n: number): void => {
        // on the swap chain, so a reload never interleaves with a deployment being applied;
        // the wait between attempts is off the chain, so a deployment never waits for it
        const run = async (): Promise<void> => {
          if (this.closing || this.loaded.get(entry.version) !== entry) return; // swapped, retired or shutting down meanwhile
          let backend: PolicyBackend;
          try {
            backend = await this.loader(entry.artifactDir);
          } catch (err) {
            const retryInMs = Math.min(30_000, 500 * 2 ** (n - 1));
            this.onEvent('policy version reload failed; retrying', { version: entry.version, attempt: n, retryInMs, error: String(err) }, 'error');
            setTimeout(() => attempt(n + 1), retryInMs).unref();
            return;
          }
          if (this.closing || this.loaded.get(entry.version) !== entry) {
            await backend.close();
            return;
          }
          const fresh: LoadedVersion = { ...entry, backend, leases: 0, closed: null };
          this.watch(fresh);
          this.loaded.set(entry.version, fresh);
          this.onEvent('policy version reloaded', { version: entry.version, attempt: n });
        };
        const p = this.swapChain.then(run, run);
        this.swapChain = p.catch(() => undefined);
      };
      attempt(1);
    });
  }

  private closeVersion(v: LoadedVersion): Promise<void> {
    if (!v.closed) {
      v.closed = v.backend
        .close()
        .then(() => this.onEvent('policy version closed', { version: v.version }))
        .catch((err) => this.onEvent('policy version close failed', { version: v.version, error: String(err) }, 'error'))
        .finally(() => {
          for (const [key, x] of this.loaded) if (x === v) this.loaded.delete(key);
        });
    }
    return v.closed;
  }

  /** Close every engine (shutdown). In-flight requests should have been drained by then. */
  async close(): Promise<void> {
    this.closing = true;
    await this.swapChain;
    const all = [...this.loaded.values()];
    await Promise.allSettled(all.map((v) => this.closeVersion(v)));
    this.spec = null;
  }
}
