// The README's Node quick start (test/node/examples.test.js runs it): `node examples/quickstart.js`.
import cu, { Cu, IoWrapper } from 'cu';

await cu.load();
cu.init();
console.log(await cu.compute('return 2 + 2')); // 4

// _home persists in a SQLite file (the same format the `cu` CLI uses).
const unit = new Cu({ store: 'sqlite:.cu/home.sqlite' });
await unit.load();
await unit.compute(`
  if not _home.counter then
    local count = 0
    function _home.counter() count = count + 1 return count end
  end`);
console.log(await unit.compute('return _home.counter()')); // 1, then 2 when run again

const io = new IoWrapper(unit);
const { output } = await io.computeWithIo(
  `local sum = 0
   for _, v in ipairs(_io.input.dataset) do sum = sum + v end
   _io.output = { sum = sum, average = sum / #_io.input.dataset }`,
  { dataset: [10, 20, 30, 40, 50] },
);
console.log(output); // { average: 30, sum: 150 }
