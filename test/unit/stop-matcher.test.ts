import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { StopMatcher } from '../../src/runtime/stop-matcher.js';

function run(stops: string[], chunks: string[]): { text: string; stopped: boolean } {
  const matcher = new StopMatcher(stops);
  let text = '';
  for (const chunk of chunks) {
    text += matcher.push(chunk);
    if (matcher.stopped) break;
  }
  return { text: text + matcher.flush(), stopped: matcher.stopped };
}

describe('StopMatcher', () => {
  test('finds a stop that spans chunks and starts with a space', () => {
    assert.deepEqual(run([' Lily'], [', there was', ' a girl named', ' Li', 'ly. She']), { text: ', there was a girl named', stopped: true });
  });

  test('keeps the text before the stop exactly, including a trailing space', () => {
    assert.deepEqual(run(['Lily'], ['named ', 'Lily']), { text: 'named ', stopped: true });
  });

  test('releases a partial match that never completes', () => {
    assert.deepEqual(run([',zzz'], ['One day', ',']), { text: 'One day,', stopped: false });
  });

  test('the earliest of several stops wins', () => {
    assert.deepEqual(run(['park', 'girl'], ['a little girl in the park']), { text: 'a little ', stopped: true });
  });

  test('never emits text that might still be part of a stop', () => {
    const matcher = new StopMatcher(['\n\nUser:']);
    assert.equal(matcher.push('Hello\n'), 'Hello');
    assert.equal(matcher.push('\nUs'), '');
    assert.equal(matcher.push('er:'), '');
    assert.equal(matcher.stopped, true);
  });

  test('without stops everything passes straight through', () => {
    assert.deepEqual(run([], ['a', 'b']), { text: 'ab', stopped: false });
  });
});
