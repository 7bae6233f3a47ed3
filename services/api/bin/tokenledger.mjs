#!/usr/bin/env node
// The `tokenledger` command (npx tokenledger ...): runs the TypeScript CLI through tsx.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli.ts');
