// Durable Objects whose `_home` is in their own SQLite storage, run by workerd
// (workerd.test.js): `?object=NAME` picks the object, `?code=` is computed by its unit.
import { DurableObject } from 'cloudflare:workers';

import { Cu, DurableObjectStore } from '../../src/browser/index.js';
import core from '../../generated/guest.core.wasm';
import core2 from '../../generated/guest.core2.wasm';
import core3 from '../../generated/guest.core3.wasm';

const wasmModules = { 'guest.core.wasm': core, 'guest.core2.wasm': core2, 'guest.core3.wasm': core3 };

export class Units extends DurableObject {
  async fetch(request) {
    this.unit ??= await new Cu({ store: new DurableObjectStore(this.ctx.storage), wasmModules, print: () => {} }).load();
    const code = new URL(request.url).searchParams.get('code');
    try {
      return Response.json({ values: await this.unit.compute(code) });
    } catch (error) {
      return Response.json({ error: `${error.name}: ${error.message}` }, { status: 500 });
    }
  }
}

export default {
  fetch(request, env) {
    const name = new URL(request.url).searchParams.get('object');
    return env.UNITS.get(env.UNITS.idFromName(name)).fetch(request);
  },
};
