// A gate policy file (for `outerloop eval --policy` and `outerloop gate --policy`): JSON (.json) or YAML (.yaml, .yml), validated by parseGatePolicy
// against the configured suites' metric catalog. The YAML parser (`yaml`) is loaded
// only for a YAML file.
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { type GateMetricCatalog, type GatePolicy, parseGatePolicy } from '../evaluation/index.js';

export class GatePolicyFileError extends Error {
  readonly retriable = false;
  readonly code = 'gate_policy_file';
  constructor(readonly path: string, reason: string) {
    super(`${path}: ${reason}`);
    this.name = 'GatePolicyFileError';
  }
}

export async function readGatePolicyFile(path: string, catalog: GateMetricCatalog): Promise<GatePolicy> {
  const ext = extname(path).toLowerCase();
  if (!['.json', '.yaml', '.yml'].includes(ext)) throw new GatePolicyFileError(path, `a gate policy is a .json, .yaml or .yml file, got "${ext || 'no extension'}"`);
  const text = await readFile(path, 'utf8');
  let input: unknown;
  try {
    input = ext === '.json' ? JSON.parse(text) : (await import('yaml')).parse(text);
  } catch (e) {
    if (e instanceof SyntaxError || (e instanceof Error && e.name.startsWith('YAML'))) throw new GatePolicyFileError(path, `not valid ${ext === '.json' ? 'JSON' : 'YAML'}: ${e.message}`);
    throw e;
  }
  return parseGatePolicy(input, catalog, path);
}
