// Every migration, in order. Append new classes at the end; never edit or reorder
// one that has shipped (databases record them by name).
import { InitialSchema1764200000000 } from './1764200000000-InitialSchema.js';
import { EmbeddedEventBus1764201000000 } from './1764201000000-EmbeddedEventBus.js';
import { GateDecisionBelongsToIteration1764210000000 } from './1764210000000-GateDecisionBelongsToIteration.js';
import { Jobs1764381600000 } from './1764381600000-Jobs.js';
import { GateDecisionEvidence1764400000000 } from './1764400000000-GateDecisionEvidence.js';
import { LoopStateMachine1764500000000 } from './1764500000000-LoopStateMachine.js';

export const MIGRATIONS = [
  InitialSchema1764200000000,
  EmbeddedEventBus1764201000000,
  GateDecisionBelongsToIteration1764210000000,
  Jobs1764381600000,
  GateDecisionEvidence1764400000000,
  LoopStateMachine1764500000000,
];
