// Node's built-in modules, as CommonJS objects. `import … from 'node:fs'` makes an ES module of
// `fs` by reading every export, `fs.promises` too, which loads streams and readline: some 2 ms
// of a cold start (`node --cpu-prof`) for functions the package never calls.

export const { mkdirSync, readFileSync, realpathSync, renameSync, statSync, writeFileSync } = process.getBuiltinModule('node:fs');
export const { dirname, resolve, sep } = process.getBuiltinModule('node:path');
