// The playground: a Lua editor over the package's default unit, whose _home is kept in IndexedDB.

import cu from '../../src/browser/index.js';

const $ = (id) => document.getElementById(id);

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
  try {
    await action();
  } catch (error) {
    $('error').textContent = error.traceback ? `${error.message}\n${error.traceback}` : error.message;
  }
  refresh();
}

async function run() {
  await attempt(async () => {
    $('result').textContent = '';
    $('printed').textContent = '';
    const { values, printed } = cu.computeAll($('code').value, { chunkName: 'playground', text: true });
    $('result').textContent = values.join('\n');
    $('printed').textContent = printed;
  });
}

$('run').addEventListener('click', run);
$('code').addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) run();
});
$('save').addEventListener('click', () => attempt(() => cu.saveState($('snapshot-name').value)));
$('load').addEventListener('click', () =>
  attempt(async () => {
    if (!(await cu.loadState($('snapshot-name').value))) throw new Error(`there is no snapshot named ${$('snapshot-name').value}`);
  }),
);

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
