// The README's many-units example (test/node/examples.test.js runs it in an empty directory).
import { Cu } from 'cu';

const players = [];
for (let i = 0; i < 100; i++) {
  const unit = new Cu({ store: 'memory', isolation: 'shared' });
  await unit.load();
  await unit.compute(`name = "player ${i}"`);
  players.push(unit);
}
console.log(await players[42].compute('return name')); // player 42
