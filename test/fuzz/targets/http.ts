// Why: what the HTTP front end parses from a client before any service call: the path and its
// percent-encoded bucket and key (routes.ts, request-input.ts), the query options, the context
// header, the body as it streams in (body.ts) and the bucket props JSON (admin-handlers.ts, then
// bucket-props.ts applyPropsPatch). Each may only refuse with its documented code, which the
// server maps to a 4xx; a TypeError or URIError here would be a 500.
import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import fc from 'fast-check';
import { readContextHeader } from '../../../src/core/protocol/http-contract.ts';
import { parseJsonObject } from '../../../src/api/http/admin-handlers.ts';
import { readBody } from '../../../src/api/http/body.ts';
import { decodeBucket, decodeKeyAddress, parseRequestOptions } from '../../../src/api/http/request-input.ts';
import { matchRoute, routes } from '../../../src/api/http/routes.ts';
import { defaultLimits } from '../../../src/core/base/limits.ts';
import { EverwriteError } from '../../../src/core/base/errors.ts';
import { applyPropsPatch } from '../../../src/core/node/bucket-props.ts';
import type { BucketProps } from '../../../src/core/protocol/contract.ts';
import { decodeContext, encodeContext } from '../../../src/core/versioning/index.ts';
import { anyVersionVector } from '../../property/core/versioning/arbitraries.ts';
import { type FuzzTarget, refusedWith, violation } from '../harness.ts';
import { chunked, hazardJsonTexts, mutatedBytes, mutatedJson, mutatedText } from '../mutate.ts';
import { sameValue } from './compare.ts';

interface RequestInput {
  readonly url: string;
  readonly contextHeader: string | string[] | undefined;
  readonly original:
    | {
        bucket: string;
        key: string;
        options: { r?: number; w?: number; timeoutMs?: number } | undefined;
        context: string;
      }
    | undefined;
}

const encodable = (text: string) => {
  try {
    encodeURIComponent(text);
    return true;
  } catch {
    return false;
  }
};

const name = (bytesMax: number) =>
  fc
    .oneof(
      fc.string({ unit: 'binary', minLength: 1, maxLength: 16 }),
      fc.constantFrom('__proto__', 'constructor', '..', 'a/b', 'é', '%41'),
    )
    .filter((text) => encodable(text) && Buffer.byteLength(text) <= bytesMax);
const options = fc.option(
  fc
    .record(
      {
        r: fc.integer({ min: 1, max: 9 }),
        w: fc.integer({ min: 1, max: 9 }),
        timeoutMs: fc.integer({ min: 1, max: 10 ** 14 }),
      },
      { requiredKeys: [], noNullPrototype: true },
    )
    .filter((value) => Object.keys(value).length > 0),
  { nil: undefined },
);

function urlOf(bucket: string, key: string, query: { r?: number; w?: number; timeoutMs?: number } | undefined): string {
  const parameters =
    query === undefined
      ? ''
      : `?${Object.entries(query)
          .map(([field, value]) => `${field === 'timeoutMs' ? 'timeout_ms' : field}=${value}`)
          .join('&')}`;
  return `/buckets/${encodeURIComponent(bucket)}/keys/${encodeURIComponent(key)}${parameters}`;
}

const validRequest = fc
  .record({
    bucket: name(defaultLimits.bucketBytesMax),
    key: name(defaultLimits.keyBytesMax),
    options,
    context: anyVersionVector.map(encodeContext),
  })
  .map((original) => ({
    url: urlOf(original.bucket, original.key, original.options),
    contextHeader: original.context,
    original,
  }));

const fixedUrls = [
  '/',
  '/health',
  '/metrics',
  '/admin/status',
  '/admin/ring',
  '/admin/join',
  '/buckets/b/props',
  '/admin/local/buckets/b/keys/k',
  '/buckets//keys/',
  '/buckets/b/keys/k/extra',
  '//buckets/b/keys/k',
];
const contextHeader = fc.oneof(
  fc.constant(undefined),
  mutatedText(anyVersionVector.map(encodeContext)),
  fc.array(mutatedText(anyVersionVector.map(encodeContext)), { maxLength: 3 }),
);

/** What a handler does with a request's path, query and context header, in the order it does it. */
function parseRequest(
  url: string,
  header: RequestInput['contextHeader'],
): { bucket?: string; key?: string; options?: unknown; context?: unknown } | undefined {
  const exchange = matchRoute({ url } as IncomingMessage, {} as ServerResponse);
  if (exchange === undefined) return undefined;
  const parsed: { bucket?: string; key?: string; options?: unknown; context?: unknown } = {};
  const codes = ['EVERWRITE_BAD_REQUEST', 'EVERWRITE_KEY_TOO_LARGE'] as const;
  if (exchange.route === routes.key || exchange.route === routes.adminLocalKey) {
    const address = refusedWith(codes, () => decodeKeyAddress(exchange.rawBucket, exchange.rawKey, defaultLimits));
    if (address === undefined) return parsed;
    Object.assign(parsed, address);
  } else if (exchange.route === routes.props) {
    const bucket = refusedWith(codes, () => decodeBucket(exchange.rawBucket, defaultLimits));
    if (bucket === undefined) return parsed;
    parsed.bucket = bucket;
  }
  const requestOptions = refusedWith(codes, () => parseRequestOptions(exchange.rawQuery) ?? null);
  if (requestOptions === undefined) return parsed;
  parsed.options = requestOptions ?? undefined;
  const token = readContextHeader(header);
  parsed.context = token === undefined ? undefined : refusedWith(['EVERWRITE_BAD_CONTEXT'], () => decodeContext(token));
  return parsed;
}

export const httpRequestTarget: FuzzTarget<RequestInput> = {
  name: 'http-request',
  subject:
    'HTTP paths, query strings and the context header (matchRoute, decodeKeyAddress, parseRequestOptions, readContextHeader)',
  arbitrary: fc.oneof(
    validRequest,
    fc.record({
      url: mutatedText(
        fc.oneof(
          validRequest.map((request) => request.url),
          fc.constantFrom(...fixedUrls),
        ),
      ),
      contextHeader,
      original: fc.constant(undefined),
    }),
  ),
  check({ url, contextHeader: header, original }) {
    const parsed = parseRequest(url, header);
    if (original === undefined) return;
    if (parsed?.bucket !== original.bucket || parsed.key !== original.key)
      violation('a valid path did not decode to its bucket and key');
    if (!sameValue(parsed.options, original.options)) violation('valid query options did not decode to themselves');
    if (!sameValue(parsed.context, original.context === '' ? undefined : decodeContext(original.context)))
      violation('a valid context header did not decode');
  },
  crafted: [
    {
      name: 'lone surrogate escapes',
      input: { url: '/buckets/%ED%A0%80/keys/%ED%B0%80', contextHeader: undefined, original: undefined },
    },
    {
      name: 'lone surrogate in the path',
      input: { url: '/buckets/\uD800/keys/k', contextHeader: '\uDC00', original: undefined },
    },
    // Node's HTTP parser stops a request line at its header size limit (16 KiB by default): the longest URL that can arrive.
    {
      name: 'key of 16 KiB',
      input: { url: `/buckets/b/keys/${'%41'.repeat(5_400)}`, contextHeader: undefined, original: undefined },
    },
    {
      name: '4000 query parameters',
      input: { url: `/buckets/b/keys/k?${'r=1&'.repeat(4_000)}`, contextHeader: undefined, original: undefined },
    },
    {
      name: 'r of 16 digits',
      input: { url: '/buckets/b/keys/k?r=9007199254740993', contextHeader: undefined, original: undefined },
    },
    {
      name: '__proto__ parameter',
      input: { url: '/buckets/b/keys/k?__proto__=1&constructor=2', contextHeader: undefined, original: undefined },
    },
    {
      name: '2000 repeated context headers',
      input: {
        url: '/buckets/b/keys/k',
        contextHeader: Array.from({ length: 2_000 }, () => 'AQFhAQ'),
        original: undefined,
      },
    },
  ],
  describe: (input) =>
    JSON.stringify({ url: input.url.slice(0, 300), contextHeader: input.contextHeader }).slice(0, 600),
  ciRuns: 3000,
};

// ---------------------------------------------------------------------------------------------
// Bodies as they stream in

interface BodyInput {
  readonly body: Uint8Array;
  readonly cuts: number[];
  readonly contentLength: string | undefined;
  readonly expectContinue: boolean;
}

const bodyBytesMax = 64;

class FakeRequest extends EventEmitter {
  readableEnded = false;
  constructor(readonly headers: Record<string, string>) {
    super();
  }
}

class FakeResponse {
  headersSent = false;
  readonly headers = new Map<string, unknown>();
  continues = 0;
  setHeader(header: string, value: unknown): void {
    this.headers.set(header.toLowerCase(), value);
  }
  writeContinue(): void {
    this.continues++;
  }
}

export const httpBodyTarget: FuzzTarget<BodyInput> = {
  name: 'http-body',
  subject: 'request bodies as they stream in, with Content-Length and Expect (readBody)',
  arbitrary: fc.record({
    body: fc.uint8Array({ maxLength: bodyBytesMax * 2 }),
    cuts: fc.array(fc.nat(), { maxLength: 6 }),
    contentLength: fc.option(
      fc.oneof(
        fc.nat(bodyBytesMax * 2).map(String),
        fc.constantFrom('-1', '1e3', '0x10', ' 5', '9007199254740993', '', 'NaN', '-0', '18446744073709551616'),
      ),
      { nil: undefined },
    ),
    expectContinue: fc.boolean(),
  }),
  async check({ body, cuts, contentLength, expectContinue }) {
    const headers: Record<string, string> = {};
    if (contentLength !== undefined) headers['content-length'] = contentLength;
    if (expectContinue) headers.expect = '100-continue';
    const request = new FakeRequest(headers);
    const response = new FakeResponse();
    const reading = readBody(request as unknown as IncomingMessage, response as unknown as ServerResponse, {
      bytesMax: bodyBytesMax,
      code: 'EVERWRITE_VALUE_TOO_LARGE',
      what: 'value',
    });
    for (const chunk of chunked(body, cuts)) request.emit('data', chunk);
    request.emit('end');
    let received: Uint8Array | undefined;
    try {
      received = await reading;
    } catch (error) {
      if (!(error instanceof EverwriteError && error.code === 'EVERWRITE_VALUE_TOO_LARGE')) throw error;
    }
    const tooLarge =
      body.length > bodyBytesMax ||
      (Number.isSafeInteger(Number(contentLength)) &&
        Number(contentLength) > bodyBytesMax &&
        contentLength !== undefined &&
        contentLength.trim() !== '');
    if (received === undefined) {
      if (!tooLarge) violation('a body within the limit was refused');
      if (response.headers.get('connection') !== 'close') violation('a refused body left the connection open');
      if (response.continues > 0 && Number(contentLength) > bodyBytesMax)
        violation('sent 100 Continue for a declared length over the limit');
      return;
    }
    if (tooLarge || !Buffer.from(received).equals(body)) violation('the body read is not the body sent');
    if (request.listenerCount('data') !== 0) violation('listeners left on the request');
  },
  crafted: [
    {
      name: 'Content-Length 2^53 + 1',
      input: { body: new Uint8Array(3), cuts: [], contentLength: '9007199254740993', expectContinue: true },
    },
    {
      name: 'Content-Length 2^31',
      input: { body: new Uint8Array(3), cuts: [], contentLength: '2147483648', expectContinue: true },
    },
    {
      name: 'body of 1 MiB in 1 KiB chunks',
      input: {
        body: new Uint8Array(1024 * 1024),
        cuts: Array.from({ length: 1024 }, (_, index) => index * 1024),
        contentLength: undefined,
        expectContinue: false,
      },
    },
  ],
  describe: ({ body, cuts, contentLength, expectContinue }) =>
    JSON.stringify({ bodyBytes: body.length, cuts, contentLength, expectContinue }),
  ciRuns: 2000,
};

// ---------------------------------------------------------------------------------------------
// Bucket props: the PUT body, parsed then applied

const current: BucketProps = Object.freeze({ n: 3, r: 2, w: 2, resolver: 'siblings', durability: 'durable' });
const clusterSize = 5;

interface PropsInput {
  readonly body: Uint8Array;
  readonly patch: Record<string, unknown> | undefined;
}

const validPatch = fc.record(
  {
    n: fc.integer({ min: 3, max: clusterSize }),
    r: fc.integer({ min: 1, max: 3 }),
    w: fc.integer({ min: 1, max: 3 }),
    resolver: fc.constantFrom('siblings', 'lww'),
    durability: fc.constantFrom('durable', 'buffered'),
  },
  { requiredKeys: [], noNullPrototype: true },
);

const hazardValues = fc.constantFrom<unknown>(
  Number.NaN,
  -0,
  Number.POSITIVE_INFINITY,
  2 ** 53 + 2,
  1.5,
  '3',
  null,
  [],
  {},
  true,
  Object.create(null),
);
/** Patches as JavaScript values, for values JSON cannot carry (NaN, -0 stays -0, prototype-less objects). */
const hostileObject = fc.dictionary(
  fc.constantFrom('n', 'r', 'w', 'resolver', 'durability', '__proto__', 'constructor', 'prototype'),
  fc.oneof(hazardValues, fc.integer()),
  { maxKeys: 4 },
);

export const bucketPropsTarget: FuzzTarget<PropsInput> = {
  name: 'bucket-props',
  subject: 'bucket props PUT bodies (parseJsonObject, applyPropsPatch)',
  arbitrary: fc.oneof(
    validPatch.map((patch) => ({ body: Buffer.from(JSON.stringify(patch)), patch })),
    mutatedJson(validPatch.map((patch) => JSON.stringify(patch))).map((text) => ({
      body: Buffer.from(text),
      patch: undefined,
    })),
    mutatedBytes(validPatch.map((patch) => Buffer.from(JSON.stringify(patch)))).map((body) => ({
      body,
      patch: undefined,
    })),
    hostileObject.map((patch) => ({ body: new Uint8Array(0), patch })),
  ),
  check({ body, patch }) {
    if (patch !== undefined && body.length === 0) {
      refusedWith(['EVERWRITE_BAD_PROPS'], () => applyPropsPatch(current, patch, clusterSize));
      return;
    }
    const parsed = refusedWith(['EVERWRITE_BAD_REQUEST'], () => parseJsonObject(body));
    const applied =
      parsed === undefined
        ? undefined
        : refusedWith(['EVERWRITE_BAD_PROPS'], () => applyPropsPatch(current, parsed, clusterSize));
    if (patch !== undefined && (applied === undefined || !sameValue(applied, { ...current, ...patch })))
      violation('a valid patch was not applied as given');
    if (applied === undefined) return;
    const { n, r, w } = applied;
    if (
      ![n, r, w].every((count) => Number.isSafeInteger(count) && count >= 1) ||
      r > n ||
      w > n ||
      n > clusterSize ||
      Object.getPrototypeOf(applied) !== Object.prototype
    )
      violation('applied props the core cannot use');
  },
  crafted: hazardJsonTexts.map((text) => ({
    name: `JSON ${text.length > 40 ? `${text.slice(0, 20)}... (${text.length} chars)` : text}`,
    input: { body: Buffer.from(text), patch: undefined },
  })),
  describe: ({ body, patch }) =>
    patch === undefined
      ? JSON.stringify(Buffer.from(body.subarray(0, 300)).toString('utf8'))
      : String(Object.entries(patch)),
  ciRuns: 3000,
};
