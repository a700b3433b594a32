// Why: the golden transcripts of the node core (test/unit/core/node/testdata/*.txt, run by
// test/support/transcript.ts): put, get with read repair, sloppy quorum with a hint, and a reap, each
// a readable script whose printed effects must match the committed output line for line.
// EVERWRITE_REWRITE_TRANSCRIPTS=1 rewrites the files after a deliberate change of behaviour.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatTranscript, parseTranscript, TranscriptRunner } from '../../../support/transcript.ts';

const directory = join(import.meta.dirname, 'testdata');
const rewrite = process.env.EVERWRITE_REWRITE_TRANSCRIPTS === '1';

for (const name of readdirSync(directory)
  .filter((file) => file.endsWith('.txt'))
  .sort()) {
  test(`transcript ${name}`, () => {
    const path = join(directory, name);
    const blocks = parseTranscript(readFileSync(path, 'utf8'));
    const actual = new TranscriptRunner().run(blocks);
    if (rewrite) {
      writeFileSync(path, formatTranscript(actual));
      return;
    }
    for (const [index, block] of blocks.entries()) {
      assert.equal(
        actual[index]?.expected,
        block.expected,
        `${name}:${block.line} \`${block.command}\` printed other effects (EVERWRITE_REWRITE_TRANSCRIPTS=1 rewrites after a deliberate change)`,
      );
    }
  });
}
