// The cross-host acceptance cases of tests/cases/*.toml (tests/README.md), the same cases the
// Rust host runs, through the package in Node.

import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { test } from 'node:test';

import { parse } from 'smol-toml';

import { Cu, CuError } from '../../src/node/index.js';

const casesDir = new URL('../../../tests/cases/', import.meta.url);
const files = readdirSync(casesDir).filter((name) => name.endsWith('.toml')).sort();

const KNOWN = new Set([
  'name', 'code', 'memory_limit', 'time_limit_ms', 'instruction_limit', 'instructions', 'returns', 'printed', 'error', 'message', 'line', 'incomplete',
  'traceback', 'traceback_excludes', 'value', 'limit', 'path', 'reason', 'modules', 'allow',
]);

/** What is wrong with `error` for `spec`, if anything. */
function errorMismatch(spec, error) {
  if (!(error instanceof CuError)) return `not a CuError: ${error?.stack ?? error}`;
  if (error.kind !== spec.error) return `expected a ${spec.error} error, got ${error.kind}: ${error.message}`;
  const text = spec.error === 'conversion' ? error.reason : error.message;
  if (spec.message !== undefined && !text.includes(spec.message)) return `message ${JSON.stringify(text)} lacks ${JSON.stringify(spec.message)}`;
  if (spec.reason !== undefined && !error.reason.includes(spec.reason)) return `reason ${JSON.stringify(error.reason)} lacks ${JSON.stringify(spec.reason)}`;
  if (spec.path !== undefined && error.path !== spec.path) return `path ${JSON.stringify(error.path)}, expected ${JSON.stringify(spec.path)}`;
  if (spec.line !== undefined && error.line !== spec.line) return `line ${error.line}, expected ${spec.line}`;
  if (spec.incomplete !== undefined && error.incomplete !== spec.incomplete) return `incomplete ${error.incomplete}`;
  if (spec.limit !== undefined && error.limit !== spec.limit) return `a ${error.limit} limit, expected ${spec.limit}`;
  if (spec.value !== undefined && error.valueText !== spec.value) return `error value ${error.valueText}, expected ${spec.value}`;
  let rest = error.traceback ?? '';
  for (const part of spec.traceback ?? []) {
    const at = rest.indexOf(part);
    if (at < 0) return `traceback ${JSON.stringify(error.traceback)} lacks ${JSON.stringify(part)} (in order)`;
    rest = rest.slice(at + part.length);
  }
  const excluded = (spec.traceback_excludes ?? []).find((part) => error.traceback.includes(part));
  if (excluded !== undefined) return `traceback contains ${JSON.stringify(excluded)}`;
  return undefined;
}

/** What is wrong when running `spec` in a fresh unit, if anything. */
function mismatch(spec) {
  const unknown = Object.keys(spec).filter((key) => !KNOWN.has(key));
  if (unknown.length > 0) return `unknown keys ${unknown.join(', ')}`;
  const unit = new Cu({
    memoryLimit: spec.memory_limit ?? 64 * 1024 * 1024,
    timeLimit: spec.time_limit_ms ?? 2000,
    instructionLimit: spec.instruction_limit,
    allow: spec.allow,
    print: () => {},
  });
  for (const [name, source] of Object.entries(spec.modules ?? {})) unit.addModule(name, source);
  let outcome;
  try {
    outcome = unit.computeAll(spec.code, { text: true });
  } catch (error) {
    if (spec.error === undefined) return `failed: ${error?.stack ?? error}`;
    const why = errorMismatch(spec, error);
    if (why !== undefined) return why;
  }
  if (outcome !== undefined) {
    if (spec.error !== undefined) return `expected a ${spec.error} error, returned ${outcome.values.join(', ')}`;
    if (spec.returns !== undefined) {
      try {
        assert.deepEqual(outcome.values, spec.returns);
      } catch {
        return `returned ${JSON.stringify(outcome.values)}, expected ${JSON.stringify(spec.returns)}`;
      }
    }
    if (spec.printed !== undefined && outcome.printed !== spec.printed) {
      return `printed ${JSON.stringify(outcome.printed)}, expected ${JSON.stringify(spec.printed)}`;
    }
    if (spec.instructions !== undefined && outcome.instructions !== spec.instructions) {
      return `ran ${outcome.instructions} instructions, expected ${spec.instructions}`;
    }
  }
  const alive = unit.computeAll('return 1').values;
  return alive.length === 1 && alive[0] === 1 ? undefined : `afterwards return 1 gave ${alive}`;
}

test('the cross-host acceptance cases', async () => {
  await new Cu().load();
  const failures = [];
  let count = 0;
  for (const file of files) {
    for (const spec of parse(readFileSync(new URL(file, casesDir), 'utf8')).case) {
      count += 1;
      const why = mismatch(spec);
      if (why !== undefined) failures.push(`${file}: ${spec.name}: ${why}`);
    }
  }
  assert.ok(count > 50, `only ${count} cases found in ${casesDir}`);
  assert.deepEqual(failures, [], `${failures.length} of ${count} cases failed`);
});
