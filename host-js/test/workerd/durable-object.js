// Durable Objects whose `_home` is in their own SQLite storage, run by workerd
// (workerd.test.js): `?object=NAME` picks the object, `?code=` is computed by its unit, and
// without code the answer is the bytes of memory under the unit. The objects' units share
// instances of the component (`isolation: 'shared'`), as an isolate of many objects would.
import { DurableObject } from 'cloudflare:workers';

import { Cu, DurableObjectStore } from '../../src/browser/index.js';
import core from '../../generated/guest.core.wasm';
import core2 from '../../generated/guest.core2.wasm';
import core3 from '../../generated/guest.core3.wasm';

const wasmModules = { 'guest.core.wasm': core, 'guest.core2.wasm': core2, 'guest.core3.wasm': core3 };

export class Units extends DurableObject {
  async fetch(request) {
    this.unit ??= await new Cu({
      store: new DurableObjectStore(this.ctx.storage),
      wasmModules,
      print: () => {},
      isolation: 'shared',
    }).load();
    const code = new URL(request.url).searchParams.get('code');
    if (code === null) return Response.json({ linear: this.unit.getMemoryStats().linear });
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
