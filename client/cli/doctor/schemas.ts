import type { components as EngineSchemas } from '../../../generated/business-engine/client.js';
import type { components as TttSchemas } from '../../../generated/tttranscribe/client.js';

// The answers `pluct doctor` reads, named once from generated/ (facts.ts and replica-sampling.ts both use them).
export type EngineHealth = EngineSchemas['schemas']['EngineHealth'];
export type IntegrationReport = EngineSchemas['schemas']['IntegrationReport'];
export type TttHealth = TttSchemas['schemas']['TttHealth'];
export type EngineAuthInfo = TttSchemas['schemas']['EngineAuthInfo'];
export type EngineAuthValid = TttSchemas['schemas']['EngineAuthValid'];
