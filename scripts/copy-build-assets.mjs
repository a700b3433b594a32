// Why: tsc emits only what it compiles, but the node serves its dashboard's HTML, JavaScript and CSS
// from beside the module that serves them (src/api/http/observe-handlers.ts reads ./dashboard/
// relative to itself). The build copies those files next to the compiled module in dist/, so an
// installed package serves the same dashboard as a checkout.
import { cpSync } from 'node:fs';

const from = new URL('../src/api/http/dashboard/', import.meta.url);
const to = new URL('../dist/api/http/dashboard/', import.meta.url);
cpSync(from, to, { recursive: true });
