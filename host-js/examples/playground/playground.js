// The playground: a Lua editor (CodeMirror, with Lua highlighting and line numbers) over the
// package's default unit, whose _home is kept in IndexedDB. scripts/playground.js bundles this
// file into dist/; the package itself is imported as served.

import { StreamLanguage } from '@codemirror/language';
import { lua } from '@codemirror/legacy-modes/mode/lua';
import { StateEffect, StateField } from '@codemirror/state';
import { Decoration, EditorView, keymap } from '@codemirror/view';
import { basicSetup } from 'codemirror';

import cu from '/src/browser/index.js';

import { EXAMPLES } from './examples.js';

/** The chunk name the editor's code runs as, so that errors read `playground:LINE: ...`. */
const CHUNK = 'playground';

const $ = (id) => document.getElementById(id);

/** The line an error is marked on (0: none). */
const markLine = StateEffect.define();
const errorLine = StateField.define({
  create: () => Decoration.none,
  update(marks, transaction) {
    if (transaction.docChanged) return Decoration.none;
    for (const effect of transaction.effects) {
      if (!effect.is(markLine)) continue;
      if (effect.value === 0 || effect.value > transaction.state.doc.lines) return Decoration.none;
      const line = transaction.state.doc.line(effect.value);
      return Decoration.set([Decoration.line({ class: 'cm-errorLine' }).range(line.from)]);
    }
    return marks;
  },
  provide: (field) => EditorView.decorations.from(field),
});

const editor = new EditorView({
  parent: $('editor'),
  doc: EXAMPLES[0].code,
  extensions: [
    basicSetup,
    StreamLanguage.define(lua),
    errorLine,
    keymap.of([{ key: 'Mod-Enter', run: () => (run(), true) }]),
  ],
});

/** The line of the editor's code an error points at: a syntax error's, or `playground:N:` in its message or traceback. */
function lineOf(error) {
  if (typeof error.line === 'number') return error.line;
  const found = `${error.message}\n${error.traceback ?? ''}`.match(new RegExp(`${CHUNK}:(\\d+):`));
  return found ? Number(found[1]) : 0;
}

function showError(error) {
  $('error').textContent = error.traceback ? `${error.message}\n${error.traceback}` : error.message;
  const line = lineOf(error);
  editor.dispatch({ effects: markLine.of(line) });
  if (line > 0) {
    const at = editor.state.doc.line(Math.min(line, editor.state.doc.lines));
    editor.dispatch({ selection: { anchor: at.from }, scrollIntoView: true });
  }
}

/** A list of the keys of the stored table at `path` (an array of keys), tables opened two deep. */
function homeTree(path, depth) {
  const list = document.createElement('ul');
  for (const { key, kind } of cu.homeKeys(path)) {
    const item = document.createElement('li');
    const name = typeof key === 'string' ? key : `[${key}]`;
    if (kind === 'function') {
      item.textContent = `${name}: function`;
    } else if (kind === 'table' && depth < 2) {
      item.textContent = `${name}:`;
      item.append(homeTree([...path, key], depth + 1));
    } else {
      item.textContent = `${name} = ${cu.homeGet([...path, key], { text: true })}`;
    }
    list.append(item);
  }
  return list;
}

function refresh() {
  $('home').replaceChildren(homeTree([], 0));
  $('snapshots').replaceChildren(
    ...cu.listStates().map(({ name, keys, savedAt }) => {
      const item = document.createElement('li');
      item.textContent = `${name} (${keys} keys, ${savedAt.toLocaleString()})`;
      return item;
    }),
  );
}

/** Runs `action`, showing its error, if any, and the store afterwards. */
async function attempt(action) {
  $('error').textContent = '';
  editor.dispatch({ effects: markLine.of(0) });
  try {
    await action();
  } catch (error) {
    showError(error);
  }
  refresh();
}

/** The limits the page asks for, applied to the unit when they changed (a fresh Lua state). */
function applyLimits() {
  const timeLimit = Math.max(0, Number($('time-limit').value) || 0);
  const memoryLimit = Math.max(0, Number($('memory-limit').value) || 0) * 1024 * 1024;
  if (timeLimit !== cu.options.timeLimit || memoryLimit !== cu.options.memoryLimit) {
    Object.assign(cu.options, { timeLimit, memoryLimit });
    cu.init();
  }
}

async function run() {
  await attempt(async () => {
    $('result').textContent = '';
    $('printed').textContent = '';
    applyLimits();
    const { values, printed } = cu.computeAll(editor.state.doc.toString(), { chunkName: CHUNK, text: true });
    $('result').textContent = values.join('\n');
    $('printed').textContent = printed;
  });
}

$('examples').replaceChildren(
  ...EXAMPLES.map(({ name }, i) => Object.assign(document.createElement('option'), { value: String(i), textContent: name })),
);
$('examples').addEventListener('change', () => {
  const { code } = EXAMPLES[Number($('examples').value)];
  editor.dispatch({ changes: { from: 0, to: editor.state.doc.length, insert: code } });
});
$('run').addEventListener('click', run);
$('save').addEventListener('click', () => attempt(() => cu.saveState($('snapshot-name').value)));
$('load').addEventListener('click', () =>
  attempt(async () => {
    if (!(await cu.loadState($('snapshot-name').value))) throw new Error(`there is no snapshot named ${$('snapshot-name').value}`);
  }),
);

/** For tests and the console: the editor's text. */
window.playground = {
  get code() {
    return editor.state.doc.toString();
  },
  set code(text) {
    editor.dispatch({ changes: { from: 0, to: editor.state.doc.length, insert: text } });
  },
};

try {
  // Printing goes to the page, not the console.
  cu.options.print = () => {};
  await cu.load();
  cu.init();
  for (const button of ['run', 'save', 'load']) $(button).disabled = false;
  $('status').textContent = 'ready';
  refresh();
} catch (error) {
  $('status').textContent = `could not start: ${error.message}`;
}
