// Why: the TypeScript client reads a node's answers (src/client/responses.ts): a 300's JSON
// siblings, a JSON error body, the context header. A node (or anything in between) may answer
// anything, and the client's contract is that off-contract answers become EverwriteClientError,
// never a TypeError in application code. Valid sibling bodies must read back as written.
import fc from 'fast-check';
import { EverwriteClientError } from '../../../src/client/errors.ts';
import type { HttpAnswer } from '../../../src/client/http-exchange.ts';
import { parseGetAnswer, parseWriteAnswer } from '../../../src/client/responses.ts';
import { type FuzzTarget, violation } from '../harness.ts';
import { hazardJsonTexts, mutatedJson } from '../mutate.ts';

interface AnswerInput {
  readonly status: number;
  readonly body: string;
  readonly context: string | string[] | undefined;
  /** The siblings' values (base64) of a valid 300 body. */
  readonly values: string[] | undefined;
}

const sibling = fc.record({
  value: fc.uint8Array({ maxLength: 12 }).map((bytes) => Buffer.from(bytes).toString('base64')),
  contentType: fc.string({ maxLength: 8 }),
  lastModified: fc.date({ noInvalidDate: true }).map((date) => date.toISOString()),
  deleted: fc.constant(false),
});
const siblingsBody = fc.record({
  context: fc.string({ maxLength: 12 }),
  siblings: fc.array(sibling, { maxLength: 3 }),
});

function caught(read: () => unknown): void {
  try {
    read();
  } catch (error) {
    if (!(error instanceof EverwriteClientError)) throw error;
  }
}

export const clientResponseTarget: FuzzTarget<AnswerInput> = {
  name: 'client-response',
  subject: "a node's answers as the TypeScript client reads them (parseGetAnswer, parseWriteAnswer)",
  arbitrary: fc.oneof(
    siblingsBody.map((body) => ({
      status: 300,
      body: JSON.stringify(body),
      context: undefined,
      values: body.siblings.map((item) => item.value),
    })),
    fc.record({
      status: fc.constantFrom(200, 204, 300, 404, 400, 500, 503, 0, 999),
      body: mutatedJson(
        fc.oneof(
          siblingsBody.map((body) => JSON.stringify(body)),
          fc.constantFrom(
            '{"code":"EVERWRITE_NOT_FOUND","message":"x"}',
            '{"code":"__proto__","__proto__":{"x":1}}',
            '{"code":1}',
          ),
        ),
      ),
      context: fc.option(
        fc.oneof(fc.string({ maxLength: 8 }), fc.array(fc.string({ maxLength: 4 }), { maxLength: 3 })),
        { nil: undefined },
      ),
      values: fc.constant(undefined),
    }),
  ),
  check({ status, body, context, values }) {
    const answer: HttpAnswer = {
      status,
      headers: context === undefined ? {} : { 'x-everwrite-context': context as string },
      body: Buffer.from(body),
    };
    if (values !== undefined) {
      const result = parseGetAnswer(answer, 'node');
      if (
        result.siblings.length !== values.length ||
        result.siblings.some((item, index) => Buffer.from(item.value).toString('base64') !== values[index])
      )
        violation('a valid siblings body did not read back');
      return;
    }
    caught(() => parseGetAnswer(answer, 'node'));
    caught(() => parseWriteAnswer(answer, 'node'));
  },
  crafted: hazardJsonTexts.flatMap((text) =>
    [300, 404, 500].map((status) => ({
      name: `${status} with JSON ${text.length > 30 ? `${text.slice(0, 16)}... (${text.length} chars)` : text}`,
      input: { status, body: text, context: undefined, values: undefined },
    })),
  ),
  describe: (input) => JSON.stringify({ ...input, body: input.body.slice(0, 300) }),
  ciRuns: 2000,
};
