// Versioned routing: which policy version answers a request.
//
// A deployment names a production version, an optional canary with a traffic
// weight and an optional shadow. Assignment is sticky per user: the same user
// (or API key when no `user` is sent) always lands on the same arm for a given
// canary, so a user's feedback is about one model and does not flip-flop between
// turns. Hash → uniform in [0,1) compared with the canary weight, the usual
// deterministic bucketing of A/B platforms (e.g. Kohavi et al., "Trustworthy
// Online Controlled Experiments", ch. 14: hash of user id + experiment id).
import { createHash } from 'node:crypto';

export interface DeploymentSpec {
  /** deployment row id (or 'base' for the implicit base-policy deployment) */
  id: string;
  production: string;
  canary: { version: string; weight: number } | null;
  shadow: string | null;
}

export type Arm = 'production' | 'canary';

export interface Assignment {
  version: string;
  arm: Arm;
}

/** Public model names that mean "whatever this deployment routes me to". */
export const ROUTED_MODEL_ALIASES = ['outerloop', 'default', 'policy'] as const;

/**
 * Uniform in [0, 1) from sha256(salt | key). 48 bits of the digest keep the value
 * exactly representable as a double.
 */
export function stickyUnit(key: string, salt: string): number {
  const digest = createHash('sha256').update(salt).update('\u0000').update(key).digest();
  return digest.readUIntBE(0, 6) / 2 ** 48;
}

export function validateDeployment(spec: DeploymentSpec): void {
  if (!spec.production) throw new Error(`deployment ${spec.id}: production version is required`);
  if (spec.canary) {
    const w = spec.canary.weight;
    if (!(w >= 0 && w <= 1)) throw new Error(`deployment ${spec.id}: canary.weight must be in [0, 1], got ${w}`);
    if (spec.canary.version === spec.production) throw new Error(`deployment ${spec.id}: canary must differ from production`);
  }
}

/**
 * Route one request. The salt includes the canary version so that each new canary
 * draws a fresh sample of users (the same 20% are not the guinea pigs every time)
 * while staying sticky for the life of that canary.
 */
export function assignVersion(spec: DeploymentSpec, stickyKey: string): Assignment {
  const canary = spec.canary;
  if (!canary || canary.weight <= 0) return { version: spec.production, arm: 'production' };
  const u = stickyUnit(stickyKey, `canary:${canary.version}`);
  return u < canary.weight ? { version: canary.version, arm: 'canary' } : { version: spec.production, arm: 'production' };
}

/** Every version that must be loaded to serve this deployment. */
export function deploymentVersions(spec: DeploymentSpec): string[] {
  const out = [spec.production];
  if (spec.canary) out.push(spec.canary.version);
  if (spec.shadow && !out.includes(spec.shadow)) out.push(spec.shadow);
  return out;
}
