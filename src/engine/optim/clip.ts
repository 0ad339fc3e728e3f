// Global-norm gradient clipping (Pascanu et al. 2013): if ‖g‖₂ over ALL parameters
// exceeds maxNorm, scale every gradient by maxNorm/‖g‖ — the direction is kept, only the
// step length is bounded, unlike per-element clipping.

/**
 * L2 norm of the whole blob, accumulated in float64 (2M float32 squares lose bits otherwise).
 * Finite exactly when every element is: a float32's square is below 1.2e77, so no sum of
 * finite squares overflows a float64, while one NaN or ±Inf makes the sum NaN or Inf.
 */
export function globalNorm(grads: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < grads.length; i++) sum += grads[i]! * grads[i]!;
  return Math.sqrt(sum);
}

/**
 * The factor global-norm clipping multiplies every gradient by: maxNorm/‖g‖ when the
 * norm exceeds maxNorm (> 0), else 1. `norm` is globalNorm(grads).
 */
export function clipScale(norm: number, maxNorm: number): number {
  return maxNorm > 0 && norm > maxNorm ? maxNorm / (norm + 1e-6) : 1;
}

/** Scales `grads` in place so its global norm is at most maxNorm; returns the norm before clipping. */
export function clipGlobalNorm(grads: Float32Array, maxNorm: number): number {
  const norm = globalNorm(grads);
  const scale = clipScale(norm, maxNorm);
  if (scale !== 1) for (let i = 0; i < grads.length; i++) grads[i] = grads[i]! * scale;
  return norm;
}
