// Errors across a worker-thread boundary (EngineThread for serving, TrainThread for
// training). Structured clone keeps an Error's message but not its class or its own
// fields, so a worker sends the class name and the primitive fields, and the main side
// rebuilds the error as its own class: callers keep branching on `instanceof`, `retriable`
// and the typed fields (a NonFiniteError still names its tensor, index, value and step).

import { ArtifactError, GraphError, NonFiniteError, ShapeError, TokenRangeError } from '../errors.js';
import { SamplingParamsError } from '../sampling/sampler.js';
import { TrainingCancelledError } from '../train/training-program.js';
import { ContextLengthError, EngineClosedError, EngineRunError } from './batch-engine.js';

/** An error as it crosses the thread boundary: its class name and own fields. */
export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  fields: Record<string, unknown>;
}

export function serializeError(e: unknown): SerializedError {
  if (!(e instanceof Error)) return { name: 'Error', message: String(e), fields: {} };
  const fields: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(e)) if (v === null || ['string', 'number', 'boolean'].includes(typeof v)) fields[k] = v;
  return { name: e.name, message: e.message, stack: e.stack, fields };
}

/** The classes an engine call or a training program can throw, rebuilt as themselves. */
const ERROR_CLASSES: Record<string, { prototype: Error }> = {
  ArtifactError,
  ContextLengthError,
  EngineClosedError,
  EngineRunError,
  GraphError,
  NonFiniteError,
  SamplingParamsError,
  ShapeError,
  TokenRangeError,
  TrainingCancelledError,
  RangeError,
  TypeError,
};

export function deserializeError(s: SerializedError): Error {
  const cls = ERROR_CLASSES[s.name];
  const e = (cls ? Object.create(cls.prototype) : new Error(s.message)) as Error & Record<string, unknown>;
  Object.defineProperty(e, 'message', { value: s.message, writable: true, configurable: true });
  Object.defineProperty(e, 'stack', { value: s.stack ?? `${s.name}: ${s.message}`, writable: true, configurable: true });
  for (const [k, v] of Object.entries(s.fields)) {
    // class fields such as `retriable` are read-only on some classes: define, don't assign
    Object.defineProperty(e, k, { value: v, writable: true, enumerable: true, configurable: true });
  }
  if (!cls) e.name = s.name;
  return e;
}
