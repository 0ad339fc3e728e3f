// Bad input to a pure evaluation function: a malformed array, an out-of-range option.
// Never retriable (the same input fails the same way); `field` names what was wrong so
// the evaluator can report it and dead-letter the job with that reason.

export type EvaluationInputErrorCode =
  /** a malformed or out-of-range argument */
  | 'evaluation_input'
  /** a regression's regressors are collinear (e.g. too few distinct points): no unique fit */
  | 'collinear';

export class EvaluationInputError extends RangeError {
  readonly retriable = false;
  constructor(
    /** the offending argument or field, e.g. "options.level" or "pairs[3].scoreChosen" */
    readonly field: string,
    message: string,
    readonly code: EvaluationInputErrorCode = 'evaluation_input',
  ) {
    super(`${field}: ${message}`);
    this.name = 'EvaluationInputError';
  }
}

/** Throws unless every value is a finite number. */
export function requireFinite(field: string, values: ArrayLike<number>): void {
  for (let i = 0; i < values.length; i++) {
    if (typeof values[i] !== 'number' || !Number.isFinite(values[i])) {
      throw new EvaluationInputError(`${field}[${i}]`, `must be a finite number, got ${String(values[i])}`);
    }
  }
}

export function requireSameLength(fieldA: string, a: ArrayLike<unknown>, fieldB: string, b: ArrayLike<unknown>): void {
  if (a.length !== b.length) throw new EvaluationInputError(fieldB, `has ${b.length} values but ${fieldA} has ${a.length}; they must pair up`);
}
