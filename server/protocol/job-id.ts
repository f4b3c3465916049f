/**
 * The job id format both services and the clients share: the spec's pattern
 * (`spec/shared/parameters.yaml#/JobId`), checked against generated/ by test/server/protocol/job-id.test.ts.
 *
 * @example
 * if (!JOB_ID_PATTERN.test(accepted.jobId)) throw new Error('TTTranscribe answered a malformed job id');
 */
export const JOB_ID_PATTERN = /^job_[A-Za-z0-9]{8,64}$/;
