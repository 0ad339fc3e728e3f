// Routing between model versions: the newest deployment row is what the gateway serves.

export const DEPLOYMENT_ROLES = ['production', 'canary', 'shadow'] as const;
/** production takes the traffic, a canary a weighted share of it, a shadow a copy whose answers are logged, never returned */
export type DeploymentRole = (typeof DEPLOYMENT_ROLES)[number];

export interface DeploymentRecord {
  id: string;
  productionModelId: string;
  canaryModelId: string | null;
  /** fraction of traffic (0..1) routed to the canary */
  canaryWeight: number;
  shadowModelId: string | null;
  reason: string;
  createdAt: Date;
}
