#!/usr/bin/env node
// Why: the package ships TypeScript sources run through tsx, so the `everwrite` bin registers
// tsx's loader before importing the CLI.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
