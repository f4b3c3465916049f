#!/usr/bin/env node
// Runs the TypeScript CLI straight from a checkout: tsx's ESM loader compiles client/cli on the fly.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../client/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
