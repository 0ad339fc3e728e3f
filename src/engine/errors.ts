// Typed engine errors. Every error carries a stable `code` and says whether retrying
// the same call could succeed (kafkajs' KafkaJSError.retriable is the model): the
// trainer and the gateway branch on those two fields — never on a class name or a
// message — so a bad batch or a corrupt artifact is never retried, a transient runtime
// failure may be, and a client's mistake becomes a 400 that names the field.

/** The stable, machine-readable reason of an engine error. */
export type EngineErrorCode =
  /** a tensor's shape does not match the graph or the config */
  | 'shape_mismatch'
  /** a token id outside the vocabulary */
  | 'token_out_of_range'
  /** NaN or Inf in a loss, a gradient or the logits */
  | 'non_finite'
  /** a model artifact cannot be read or does not match its manifest */
  | 'artifact_invalid'
  /** a graph is malformed at build time */
  | 'graph_invalid'
  /** a generation request's sampling parameters are invalid (client input) */
  | 'invalid_sampling_params'
  /** the prompt does not fit the model's context (client input) */
  | 'context_length_exceeded'
  /** the engine was closed before or while the request ran */
  | 'engine_closed'
  /** onnxruntime failed during a step */
  | 'engine_run_failed'
  /** a training run was cancelled between steps (train/training-program.ts) */
  | 'training_cancelled'
  /** an engine error without a more specific code */
  | 'engine_error';

/**
 * Codes of the errors that runtime/batch-engine.ts defines (ContextLengthError,
 * EngineClosedError, EngineRunError) — kept here so those throw sites need no change
 * and every code is listed in this one file. A class defined in this file declares its
 * code as a field instead.
 */
const RUNTIME_ERROR_CODES: Readonly<Record<string, EngineErrorCode>> = {
  ContextLengthError: 'context_length_exceeded',
  EngineClosedError: 'engine_closed',
  EngineRunError: 'engine_run_failed',
};

export abstract class EngineError extends Error {
  /** True when the same call may succeed if tried again (e.g. a transient resource failure). */
  abstract readonly retriable: boolean;
  /**
   * Stable reason; an own enumerable field, so it survives the engine thread's
   * structured-clone boundary (runtime/engine-thread.ts serializeError).
   */
  readonly code: EngineErrorCode;
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
    this.code = RUNTIME_ERROR_CODES[new.target.name] ?? 'engine_error';
  }
}

/** A tensor's shape does not match what the graph or the config expects. */
export class ShapeError extends EngineError {
  readonly retriable = false;
  override readonly code = 'shape_mismatch';
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
  override readonly code = 'token_out_of_range';
  constructor(
    readonly tensor: string,
    readonly index: number,
    readonly value: number,
    readonly vocabSize: number,
  ) {
    super(`tensor '${tensor}': token id ${value} at flat index ${index} is outside [0, ${vocabSize})`);
  }
}

/** NaN or Inf in a loss, a gradient or the logits. Training stops; no checkpoint is written from this state. */
export class NonFiniteError extends EngineError {
  readonly retriable = false;
  override readonly code = 'non_finite';
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
  override readonly code = 'artifact_invalid';
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
  override readonly code = 'graph_invalid';
}

/** Throws NonFiniteError at the first NaN/Inf in `values`. */
export function assertFinite(tensor: string, values: ArrayLike<number>, step?: number): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) throw new NonFiniteError(tensor, i, v, step);
  }
}
