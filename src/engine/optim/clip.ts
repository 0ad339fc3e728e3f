// Global-norm gradient clipping (Pascanu et al. 2013): if ‖g‖₂ over ALL parameters
// exceeds maxNorm, scale every gradient by maxNorm/‖g‖ — the direction is kept, only the
// step length is bounded, unlike per-element clipping.

/** L2 norm of the whole blob, accumulated in float64 (2M float32 squares lose bits otherwise). */
export function globalNorm(grads: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < grads.length; i++) sum += grads[i]! * grads[i]!;
  return Math.sqrt(sum);
}

/** Scales `grads` in place so its global norm is at most maxNorm; returns the norm before clipping. */
export function clipGlobalNorm(grads: Float32Array, maxNorm: number): number {
  const norm = globalNorm(grads);
  if (maxNorm > 0 && norm > maxNorm) {
    const scale = maxNorm / (norm + 1e-6);
    for (let i = 0; i < grads.length; i++) grads[i] = grads[i]! * scale;
  }
  return norm;
}
