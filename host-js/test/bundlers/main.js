// A small app that uses cu as web developers do, built by Vite, webpack and esbuild in
// test/browser/bundlers.test.js: it counts its visits in _home (IndexedDB) and runs Lua.
import cu, { Cu } from 'cu';

// esbuild leaves `new URL('…', import.meta.url)` alone, so its page names where it copied the
// component's files; Vite and webpack copy them themselves.
const wasmUrl = document.querySelector('meta[name="cu-wasm"]')?.content;
const unit = wasmUrl ? new Cu({ wasmUrl: new URL(wasmUrl, location.href) }) : cu;
await unit.load();
const visits = await unit.compute('_home.visits = (_home.visits or 0) + 1 return _home.visits');
await unit.flush();
document.body.dataset.answer = String(await unit.compute('return 6 * 7'));
document.body.dataset.visits = String(visits);
