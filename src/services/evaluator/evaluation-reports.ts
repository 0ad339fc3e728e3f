// Reading stored evaluation reports: `evaluations/<id>/report.md` and
// `evaluations/<id>/charts/<name>.svg` in the ArtifactStore. The ids and names are
// checked before they become paths (they arrive from HTTP and the CLI).
import { ArtifactNotFoundError } from '../../platform/artifacts/local-artifact-store.js';
import type { ArtifactStore } from '../../platform/artifacts/artifact-store.js';

export class EvaluationReportError extends Error {
  readonly retriable = false;
  constructor(readonly code: 'bad_request' | 'not_found', readonly field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = 'EvaluationReportError';
  }
}

const EVALUATION_ID = /^eval-[0-9a-f]{24}$/;
const CHART_NAME = /^[a-z0-9-]+$/;

export class EvaluationReports {
  constructor(private readonly artifacts: ArtifactStore) {}

  /** The markdown report of an evaluation. */
  async report(evaluationId: string): Promise<string> {
    return this.read(evaluationId, 'report.md', 'report');
  }

  /** One chart of an evaluation, as SVG. */
  async chart(evaluationId: string, name: string): Promise<string> {
    if (!CHART_NAME.test(name)) throw new EvaluationReportError('bad_request', 'name', `chart names are lower-case letters, digits and -, got ${JSON.stringify(name)}`);
    return this.read(evaluationId, `charts/${name}.svg`, `chart ${name}`);
  }

  /** The chart names stored with an evaluation. */
  async charts(evaluationId: string): Promise<string[]> {
    const files = await this.artifacts.list(`evaluations/${checked(evaluationId)}/charts`);
    return files.map((f) => f.split('/').pop()!).filter((f) => f.endsWith('.svg')).map((f) => f.slice(0, -4)).sort();
  }

  private async read(evaluationId: string, file: string, what: string): Promise<string> {
    const path = `evaluations/${checked(evaluationId)}/${file}`;
    try {
      return (await this.artifacts.get(path)).toString('utf8');
    } catch (e) {
      if (e instanceof ArtifactNotFoundError) throw new EvaluationReportError('not_found', 'id', `evaluation ${evaluationId} has no ${what}`);
      throw e;
    }
  }
}

function checked(id: string): string {
  if (!EVALUATION_ID.test(id)) throw new EvaluationReportError('bad_request', 'id', `an evaluation id is "eval-" and 24 hex digits, got ${JSON.stringify(id)}`);
  return id;
}
