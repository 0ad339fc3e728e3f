// `outerloop gate --decision ID | --evaluation ID | --recent N [--policy FILE --dry-run]`
// Shows stored gate decisions (every rule's value, threshold and result), or, with
// --policy FILE --dry-run, replays another policy over their stored inputs and lists the
// verdicts that would flip. A dry run decides nothing and writes nothing.
import type { GateDecisionRecordRow } from '../domain/evaluation.js';
import type { Repositories } from '../platform/persistence/repositories/index.js';
import { evaluatorMetricCatalog, replayGatePolicy } from '../services/evaluator/evaluator.service.js';
import { readGatePolicyFile } from './gate-policy-file.js';
import { scenarioSuites } from '../scenario/eval-suites.js';
import { numberFlag, stringFlag, takeFlags, UsageError, type ParsedArgs } from './args.js';
import { withDatabase } from './database.js';

async function selected(repositories: Repositories, f: Record<string, string | true | undefined>): Promise<GateDecisionRecordRow[]> {
  const decision = stringFlag(f.decision, 'decision');
  const evaluation = stringFlag(f.evaluation, 'evaluation');
  const given = [decision, evaluation, f.recent].filter((x) => x !== undefined).length;
  if (given !== 1) throw new UsageError('gate needs exactly one of --decision ID, --evaluation ID, --recent N');
  if (decision) {
    const d = await repositories.gateDecisions.get(decision);
    if (!d) throw new UsageError(`--decision: no gate decision ${decision}`);
    return [d];
  }
  if (evaluation) {
    const ds = await repositories.gateDecisions.byEvaluation(evaluation);
    if (ds.length === 0) throw new UsageError(`--evaluation: no gate decisions for ${evaluation}`);
    return ds;
  }
  const n = numberFlag(f.recent, 'recent', 20);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--recent needs a positive integer, got ${n}`);
  return repositories.gateDecisions.recent(n);
}

function describe(d: GateDecisionRecordRow): string {
  const rules = d.rules.map((r) => `    ${r.verdict.padEnd(14)} ${r.rule}: ${JSON.stringify(r.value)} ${r.comparator ?? ''} ${JSON.stringify(r.threshold)}${r.detail ? ` — ${r.detail}` : ''}`);
  return [`${d.id} (${d.policyName ?? 'policy not recorded'}) on ${d.candidateModelId}: ${d.verdict}`, ...rules].join('\n');
}

export async function gateCommand(args: ParsedArgs): Promise<void> {
  const f = takeFlags(args, ['decision', 'evaluation', 'recent', 'policy', 'dry-run']);
  const policyFile = stringFlag(f.policy, 'policy');
  if (policyFile && f['dry-run'] !== true) throw new UsageError('--policy replays a policy over stored decisions and writes nothing: pass --dry-run with it');
  if (f['dry-run'] !== undefined && !policyFile) throw new UsageError('--dry-run needs --policy FILE (the policy to replay)');
  await withDatabase(async (repositories) => {
    const decisions = await selected(repositories, f);
    if (!policyFile) {
      process.stdout.write(decisions.map(describe).join('\n\n') + '\n');
      return;
    }
    const policy = await readGatePolicyFile(policyFile, evaluatorMetricCatalog(scenarioSuites()));
    const dry = replayGatePolicy(policy, decisions.filter((d) => d.inputs !== null));
    const skipped = decisions.filter((d) => d.inputs === null).map((d) => d.id);
    process.stdout.write(JSON.stringify({ ...dry, skippedWithoutInputs: skipped }, null, 2) + '\n');
  });
}
