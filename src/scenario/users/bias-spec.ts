// Biases of simulated users, and the `--bias` CLI syntax for them:
//   length=0.5,confidence=0.2,noise=0.1,adversarial=0.02

/**
 * How a simulated user's judgement departs from gold utility (docs/scenario.md):
 * - `length`, `confidence`, `flattery`: weight added to perceived utility per unit of
 *   the response's length / confidence / flattery feature (each feature in [0, 1] or [−1, 1])
 * - `sd`: standard deviation of Gaussian noise added to perceived utility
 * - `noise`: label-noise rate — share of labels replaced by a uniformly random label
 * - `adversarial`: share of events that are adversarial — half spam (random label,
 *   junk edit), half inverted (the opposite of the user's honest judgement)
 */
export interface BiasSpec {
  length: number;
  confidence: number;
  flattery: number;
  sd: number;
  noise: number;
  adversarial: number;
}

export const NO_BIAS: Readonly<BiasSpec> = Object.freeze({ length: 0, confidence: 0, flattery: 0, sd: 0, noise: 0, adversarial: 0 });

const BOUNDS: Readonly<Record<keyof BiasSpec, [number, number]>> = {
  length: [-10, 10],
  confidence: [-10, 10],
  flattery: [-10, 10],
  sd: [0, 10],
  noise: [0, 1],
  adversarial: [0, 1],
};

export const BIAS_KEYS = Object.keys(BOUNDS) as (keyof BiasSpec)[];

export class BiasSpecError extends Error {
  /** a malformed spec stays malformed */
  readonly retriable = false;
  constructor(message: string) {
    super(message);
    this.name = 'BiasSpecError';
  }
}

export function validateBiasSpec(spec: BiasSpec): BiasSpec {
  for (const key of BIAS_KEYS) {
    const value = spec[key];
    const [lo, hi] = BOUNDS[key];
    if (typeof value !== 'number' || !Number.isFinite(value)) throw new BiasSpecError(`bias "${key}" must be a finite number, got ${String(value)}`);
    if (value < lo || value > hi) throw new BiasSpecError(`bias "${key}"=${value} is outside [${lo}, ${hi}]`);
  }
  if (spec.noise + spec.adversarial > 1) throw new BiasSpecError(`bias noise (${spec.noise}) + adversarial (${spec.adversarial}) must not exceed 1`);
  return spec;
}

/**
 * Named settings (docs/scenario.md §5):
 * - `honest`: feedback is gold's labels
 * - `mild`: the CLI example — biased and noisy, but padded answers still lose to concise ones
 * - `mismatch`: the objective-mismatch demo — users prefer a padded, flattering correct
 *   answer to a concise one (≈96% of such comparisons, measured) while still preferring
 *   right to wrong and answers to refusals; so a reward model learns verbosity and
 *   flattery that gold penalises
 */
export const BIAS_PRESETS: Readonly<Record<string, string>> = {
  honest: '',
  mild: 'length=0.5,confidence=0.2,noise=0.1,adversarial=0.02',
  mismatch: 'length=1,flattery=0.5,confidence=0.3,noise=0.05',
};

/**
 * Parses "length=0.5,confidence=0.2,noise=0.1,adversarial=0.02" (spaces allowed; keys
 * not given are 0; an empty string is no bias) or a preset name (BIAS_PRESETS). Throws
 * BiasSpecError naming the offending key or fragment.
 */
export function parseBiasSpec(text: string): BiasSpec {
  const spec: BiasSpec = { ...NO_BIAS };
  const seen = new Set<string>();
  const trimmed = text.trim();
  if (trimmed === '') return spec;
  if (Object.hasOwn(BIAS_PRESETS, trimmed)) return parseBiasSpec(BIAS_PRESETS[trimmed]!);
  for (const rawPart of trimmed.split(',')) {
    const part = rawPart.trim();
    if (part === '') throw new BiasSpecError(`bias spec "${text}" has an empty entry (a stray comma?)`);
    const eq = part.indexOf('=');
    if (eq < 0) throw new BiasSpecError(`bias entry "${part}" must be key=value (keys: ${BIAS_KEYS.join(', ')}) or the spec a preset (${Object.keys(BIAS_PRESETS).join(', ')})`);
    const key = part.slice(0, eq).trim();
    const valueText = part.slice(eq + 1).trim();
    if (!(BIAS_KEYS as string[]).includes(key)) throw new BiasSpecError(`unknown bias "${key}" (known: ${BIAS_KEYS.join(', ')})`);
    if (seen.has(key)) throw new BiasSpecError(`bias "${key}" is given twice`);
    seen.add(key);
    if (!/^[+-]?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?$/i.test(valueText)) throw new BiasSpecError(`bias "${key}" needs a number, got "${valueText}"`);
    spec[key as keyof BiasSpec] = Number(valueText);
  }
  return validateBiasSpec(spec);
}

export function formatBiasSpec(spec: BiasSpec): string {
  return BIAS_KEYS.filter((k) => spec[k] !== 0).map((k) => `${k}=${spec[k]}`).join(',');
}
