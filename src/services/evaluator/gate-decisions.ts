// Reading stored gate decisions for the operator's views (the admin endpoint
// GET /v1/admin/gate-decisions). The limit arrives from HTTP and is checked here.
import type { GateDecisionRecordRow } from '../../domain/evaluation.js';
import type { IGateDecisionRepository } from '../../platform/persistence/repositories/index.js';
import { EvaluationReportError } from './evaluation-reports.js';

export const MAX_GATE_DECISIONS = 200;
const DEFAULT_GATE_DECISIONS = 50;

export class GateDecisionReads {
  constructor(private readonly decisions: IGateDecisionRepository) {}

  /** The newest decisions, newest first; every policy's decision on an evaluation is its own row. */
  recent(limit: string | undefined): Promise<GateDecisionRecordRow[]> {
    return this.decisions.recent(limitOf(limit));
  }
}

function limitOf(raw: string | undefined): number {
  if (raw === undefined || raw === '') return DEFAULT_GATE_DECISIONS;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > MAX_GATE_DECISIONS) {
    throw new EvaluationReportError('bad_request', 'limit', `a whole number from 1 to ${MAX_GATE_DECISIONS}, got ${JSON.stringify(raw)}`);
  }
  return n;
}
