// `outerloop loop …`: the loop's admin API from a shell. A thin HTTP client of the
// running orchestrator's /v1/admin/loop routes (the same service methods answer both),
// so an action goes through the process that holds the loop, with its 409s.
import { stringFlag, takeFlags, UsageError, type ParsedArgs } from './args.js';

const USAGE = `usage: outerloop loop <action> [--url URL] [--api-key KEY]
  list                         iterations, newest first
  show ID                      one iteration: states, step inputs/outputs, jobs, canary verdict
  trigger                      start an iteration now
  pause | resume               the loop (the running iteration stops after its current step)
  approve ID | reject ID       answer a needs_review gate
  rollback ID [--reason R]     roll back a canary or a promoted iteration
  pin MODEL [--reason R]       serve MODEL (a production or retired version) as production
  lineage model ID | lineage feedback ID
  canary                       the current canary verdict
--url defaults to http://$OUTERLOOP_HOST:$OUTERLOOP_PORT; --api-key to $OUTERLOOP_ADMIN_KEY (scope admin).`;

function route(action: string, rest: string[], reason: string | undefined): { method: 'GET' | 'POST'; path: string; body?: unknown } {
  const id = () => {
    const v = rest[0];
    if (!v) throw new UsageError(`loop ${action}: an id is required\n${USAGE}`);
    return encodeURIComponent(v);
  };
  switch (action) {
    case 'list':
      return { method: 'GET', path: 'iterations' };
    case 'show':
      return { method: 'GET', path: `iterations/${id()}` };
    case 'trigger':
      return { method: 'POST', path: 'iterations' };
    case 'pause':
    case 'resume':
      return { method: 'POST', path: action };
    case 'approve':
    case 'reject':
      return { method: 'POST', path: `iterations/${id()}/${action}`, body: { by: process.env.USER ?? 'cli' } };
    case 'rollback':
      return { method: 'POST', path: `iterations/${id()}/rollback`, body: reason ? { reason } : {} };
    case 'pin':
      return { method: 'POST', path: 'pin', body: { modelId: rest[0] ?? '', ...(reason ? { reason } : {}) } };
    case 'lineage': {
      const [kind, target] = rest;
      if ((kind !== 'model' && kind !== 'feedback') || !target) throw new UsageError(`loop lineage: model ID or feedback ID\n${USAGE}`);
      return { method: 'GET', path: `lineage/${kind === 'model' ? 'models' : 'feedback'}/${encodeURIComponent(target)}` };
    }
    case 'canary':
      return { method: 'GET', path: 'canary' };
    default:
      throw new UsageError(`loop: unknown action "${action}"\n${USAGE}`);
  }
}

export async function loopCommand(args: ParsedArgs): Promise<void> {
  const f = takeFlags(args, ['url', 'api-key', 'reason']);
  const [action, ...rest] = args.positionals;
  if (!action) throw new UsageError(USAGE);
  const base = stringFlag(f.url, 'url') ?? `http://${process.env.OUTERLOOP_HOST ?? '127.0.0.1'}:${process.env.OUTERLOOP_PORT ?? '8080'}`;
  const key = stringFlag(f['api-key'], 'api-key') ?? process.env.OUTERLOOP_ADMIN_KEY;
  const { method, path, body } = route(action, rest, stringFlag(f.reason, 'reason'));
  const res = await fetch(`${base.replace(/\/$/, '')}/v1/admin/loop/${path}`, {
    method,
    headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  process.stdout.write(text + '\n');
  if (!res.ok) {
    process.exitCode = 1;
    process.stderr.write(`loop ${action}: HTTP ${res.status}\n`);
  }
}
