// Why: the entry point runChaos spawns inside the client namespace (`ip netns exec … node --import
// tsx runner-main.ts '<options JSON>'`). Progress goes to stderr; the report is the last stdout line.
import { runInClientNamespace, type RunnerOptions } from './runner.ts';

const options = JSON.parse(process.argv[2] ?? '{}') as RunnerOptions;
runInClientNamespace(options).then(
  (report) => {
    process.stdout.write(`${JSON.stringify(report)}\n`);
    process.exit(0);
  },
  (error: unknown) => {
    process.stderr.write(
      `[chaos] run failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(2);
  },
);
