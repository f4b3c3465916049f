import type { ReplicaSamples } from './replica-sampling.js';
import type { EngineAuthInfo, EngineAuthValid, EngineHealth, IntegrationReport, TttHealth } from './schemas.js';

/** What one HTTP probe found: the answer (with the local clock around it) or why there was none. */
export type Probe<T> =
  | {
      readonly ok: true;
      readonly value: T;
      readonly status: number;
      readonly rttMs: number;
      readonly localMidMs: number;
    }
  | {
      readonly ok: false;
      readonly reason: string;
      readonly status?: number;
      readonly code?: string;
      readonly detail?: string;
      readonly details?: Record<string, unknown>;
      /** The replica that answered (X-Instance-Id), behind a load balancer the one to look at. */
      readonly instance?: string;
    };

/** Everything `pluct doctor` learns from outside, before judging it. */
export interface Facts {
  readonly engineHealth: Probe<EngineHealth>;
  readonly tttHealth: Probe<TttHealth>;
  readonly engineAuthInfo: Probe<EngineAuthInfo>;
  /** 200 and 503 both carry the report. */
  readonly integration: Probe<IntegrationReport>;
  /** Absent when no local secret is available. */
  readonly signedProbe: Probe<EngineAuthValid> | undefined;
  /** Absent when no local USER_JWT_SECRET is available. */
  readonly userToken: Probe<unknown> | undefined;
  /** The replicas seen behind each URL (absent when sampling was not asked for). */
  readonly replicas?: ReplicaSamples;
}
