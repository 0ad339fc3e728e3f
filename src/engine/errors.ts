// Typed engine errors. Every error says whether retrying the same call could succeed
// (kafkajs' KafkaJSError.retriable is the model): the trainer and the gateway branch on
// it — a bad batch or a corrupt artifact is never retried, a transient runtime failure may be.

export abstract class EngineError extends Error {
  /** True when the same call may succeed if tried again (e.g. a transient resource failure). */
  abstract readonly retriable: boolean;
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A tensor's shape does not match what the graph or the config expects. */
export class ShapeError extends EngineError {
  readonly retriable = false;
  constructor(
    /** Name of the offending tensor (graph input name or parameter name). */
    readonly tensor: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`tensor '${tensor}': expected shape ${expected}, got ${actual}`);
  }
}

/** A token id lies outside [0, vocabSize). */
export class TokenRangeError extends EngineError {
  readonly retriable = false;
  constructor(
    readonly tensor: string,
    readonly index: number,
    readonly value: number,
    readonly vocabSize: number,
  ) {
    super(`tensor '${tensor}': token id ${value} at flat index ${index} is outside [0, ${vocabSize})`);
  }
}

/** NaN or Inf in a loss or gradient. Training stops; no checkpoint is written from this state. */
export class NonFiniteError extends EngineError {
  readonly retriable = false;
  constructor(
    readonly tensor: string,
    readonly index: number,
    readonly value: number,
    readonly step?: number,
  ) {
    super(`tensor '${tensor}': non-finite value ${value} at flat index ${index}${step === undefined ? '' : ` (step ${step})`}`);
  }
}

/** A model artifact cannot be read or does not match its manifest. */
export class ArtifactError extends EngineError {
  constructor(
    message: string,
    readonly retriable = false,
  ) {
    super(message);
  }
}

/** A graph is malformed at build time (unknown value, op without a gradient rule, …). */
export class GraphError extends EngineError {
  readonly retriable = false;
}

/** Throws NonFiniteError at the first NaN/Inf in `values`. */
export function assertFinite(tensor: string, values: ArrayLike<number>, step?: number): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) throw new NonFiniteError(tensor, i, v, step);
  }
}
