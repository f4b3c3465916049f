import type { JobState } from './job-store.js';

/** Every state a job can be in, in the order metrics list them (counted by `JobStore.countByState`). */
export const JOB_STATES: readonly JobState[] = ['queued', 'processing', 'completed', 'failed'];
