// What the contract test hands to worker-child.ts (env OUTERLOOP_TEST_JOB_CHILD, JSON).
import type { NodeConfig } from './node.js';

export interface WorkerChildConfig {
  node: NodeConfig;
  /** the ArtifactStore directory shared with the test (checkpoints) */
  artifactDir: string;
  leaseMs: number;
  heartbeatMs: number;
}

/** the file the child's handler checkpoints to, under the job's checkpoint prefix */
export const CHECKPOINT_FILE = 'state.json';
