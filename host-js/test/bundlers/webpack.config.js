// webpack 5 for test/browser/bundlers.test.js: the app as one ES module, its assets (the
// component's .wasm files, found through `new URL('…', import.meta.url)`) beside it.
export default (env) => ({
  mode: 'production',
  target: 'web',
  context: env.app,
  entry: './main.js',
  experiments: { outputModule: true },
  output: { path: env.out, filename: 'main.js', module: true, publicPath: 'auto' },
  resolve: { modules: [`${env.app}/node_modules`] },
});
