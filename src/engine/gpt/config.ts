// GPT configuration and parameter layout.
//
// Dimension legend (used in every engine file):
//   B  batch size            T  sequence length (≤ maxT)
//   C  channels (width)      V  vocabulary size
//   L  number of layers      NH number of heads      HS head size = C / NH
//
// Parameters live in ONE contiguous Float32Array (llm.c malloc_and_point_parameters):
// AdamW is one loop over it and a checkpoint is one blob. `gptParameterLayout` fixes
// the order and shape of every named tensor; `ParameterSet.view(name)` is a subarray
// (no copy) so ORT tensors can be created straight over it.
//
// Weight matrices are stored (in, out) so the forward is a plain MatMul x @ W with no
// transpose. The LM head is TIED to the token embedding (logits = x @ wteᵀ), as in GPT-2
// and llm.c: it saves V·C parameters (≈ 15% of the reference model) and the embedding
// of a rare token still learns from every softmax it appears in.

import { ShapeError } from '../errors.js';

export interface GptConfig {
  /** V: vocabulary size (set by the tokenizer). */
  readonly vocabSize: number;
  /** maxT: context length (size of the learned position table). */
  readonly maxSeqLen: number;
  /** C: residual width. */
  readonly channels: number;
  /** L: number of transformer blocks. */
  readonly layers: number;
  /** NH: attention heads; C must be divisible by NH. */
  readonly heads: number;
}

/**
 * The reference model for the scenario (issue 3): ≈2.2M parameters at V = 2048 (≈2.0M at
 * V = 1024). Measured on the 2-core machine (tests/bench/engine-train.ts, B=8 × T=256 SFT
 * step incl. AdamW): 0.87 s/step when the machine was quiet, 4–14 s under the shared
 * load of the build; ~30 GFLOP per step, almost all of it in MatMul. At ~1 s/step that is
 * ~600 steps × 2k tokens in 10 min — enough for the SFT corpus to be learned usefully.
 * The vocabulary here is a placeholder: the tokenizer sets it.
 */
export const REFERENCE_GPT_CONFIG: GptConfig = Object.freeze({
  vocabSize: 2048,
  maxSeqLen: 256,
  channels: 192,
  layers: 4,
  heads: 6,
});

export function headSize(config: GptConfig): number {
  return config.channels / config.heads;
}

export function validateGptConfig(config: GptConfig): void {
  const fields: Array<keyof GptConfig> = ['vocabSize', 'maxSeqLen', 'channels', 'layers', 'heads'];
  for (const f of fields) {
    const v = config[f];
    if (!Number.isInteger(v) || v <= 0) throw new RangeError(`GptConfig.${f} must be a positive integer, got ${v}`);
  }
  if (config.channels % config.heads !== 0) {
    throw new RangeError(`GptConfig.channels (${config.channels}) must be divisible by GptConfig.heads (${config.heads})`);
  }
}

export interface ParameterSpec {
  readonly name: string;
  readonly shape: readonly number[];
  /** Offset in floats into the blob. */
  readonly offset: number;
  readonly size: number;
}

/** Names of the per-layer tensors, in blob order; `h.<i>.` is prefixed. */
export const LAYER_PARAMETER_NAMES = [
  'ln1.w', 'ln1.b',
  'attn.qkv.w', 'attn.qkv.b',
  'attn.proj.w', 'attn.proj.b',
  'ln2.w', 'ln2.b',
  'mlp.fc.w', 'mlp.fc.b',
  'mlp.proj.w', 'mlp.proj.b',
] as const;

/** Every parameter tensor with its shape and offset, in blob order. */
export function gptParameterLayout(config: GptConfig): ParameterSpec[] {
  validateGptConfig(config);
  const { vocabSize: V, maxSeqLen: maxT, channels: C, layers: L } = config;
  const shapes: Array<[string, number[]]> = [
    ['wte', [V, C]], // token embedding, also the tied LM head
    ['wpe', [maxT, C]], // learned position embedding
  ];
  for (let i = 0; i < L; i++) {
    const p = `h.${i}.`;
    shapes.push(
      [p + 'ln1.w', [C]], [p + 'ln1.b', [C]],
      [p + 'attn.qkv.w', [C, 3 * C]], [p + 'attn.qkv.b', [3 * C]],
      [p + 'attn.proj.w', [C, C]], [p + 'attn.proj.b', [C]],
      [p + 'ln2.w', [C]], [p + 'ln2.b', [C]],
      [p + 'mlp.fc.w', [C, 4 * C]], [p + 'mlp.fc.b', [4 * C]],
      [p + 'mlp.proj.w', [4 * C, C]], [p + 'mlp.proj.b', [C]],
    );
  }
  shapes.push(
    ['lnf.w', [C]], ['lnf.b', [C]],
    ['value_head.w', [C, 1]], ['value_head.b', [1]], // per-position value (PPO critic)
    ['reward_head.w', [C, 1]], ['reward_head.b', [1]], // scalar reward at the last real token (RM)
  );
  let offset = 0;
  return shapes.map(([name, shape]) => {
    const size = shape.reduce((a, b) => a * b, 1);
    const spec = { name, shape, offset, size };
    offset += size;
    return spec;
  });
}

export function gptParameterCount(config: GptConfig): number {
  const layout = gptParameterLayout(config);
  const last = layout[layout.length - 1]!;
  return last.offset + last.size;
}

/** A contiguous parameter (or gradient, or optimizer moment) blob with named views. */
export class ParameterSet {
  readonly layout: readonly ParameterSpec[];
  readonly data: Float32Array;
  private readonly byName: Map<string, ParameterSpec>;

  constructor(
    readonly config: GptConfig,
    data?: Float32Array,
  ) {
    this.layout = gptParameterLayout(config);
    const count = gptParameterCount(config);
    if (data && data.length !== count) {
      throw new ShapeError('parameters', `(${count})`, `(${data.length})`);
    }
    this.data = data ?? new Float32Array(count);
    this.byName = new Map(this.layout.map((s) => [s.name, s]));
  }

  spec(name: string): ParameterSpec {
    const s = this.byName.get(name);
    if (!s) throw new RangeError(`unknown parameter '${name}'`);
    return s;
  }

  /** A view (no copy) of one named tensor. */
  view(name: string): Float32Array {
    const s = this.spec(name);
    return this.data.subarray(s.offset, s.offset + s.size);
  }

  /** A new ParameterSet with a copy of the data. */
  clone(): ParameterSet {
    return new ParameterSet(this.config, this.data.slice());
  }
}
