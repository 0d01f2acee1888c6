// The Web Worker of a unit made with `worker: true` in browsers (common/worker-unit.js).

import { serve } from '../common/worker-unit.js';
import { Cu } from './index.js';

const handle = serve(Cu, (message) => self.postMessage(message));
self.onmessage = ({ data }) => handle(data);
