// The Worker of a unit made with `worker: true` in Node (common/worker-unit.js).

import { parentPort } from 'node:worker_threads';

import { serve } from '../common/worker-unit.js';
import { Cu } from './index.js';

parentPort.on('message', serve(Cu, (message) => parentPort.postMessage(message)));
