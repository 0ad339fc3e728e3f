// A training run's outcome on its row: a run that throws is finished as `cancelled` (a
// cancelled TrainThread) or `failed` with the error's message, and the error goes on.
import type { Repositories } from '../../platform/persistence/repositories/index.js';

export async function finishingOnError<T>(training: Repositories['training'], runId: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    const code = (e as { code?: string }).code;
    await training.finishRun(runId, code === 'training_cancelled' ? 'cancelled' : 'failed', (e as Error).message);
    throw e;
  }
}
