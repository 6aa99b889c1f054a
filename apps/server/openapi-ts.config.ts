import { defineConfig } from '@hey-api/openapi-ts';

// Types only: the server's handlers are written against these. Request validation at run
// time is done by express-openapi-validator straight from the same openapi.yaml.
export default defineConfig({
  input: '../../openapi.yaml',
  output: {
    path: './src/generated',
    // The package compiles with module/moduleResolution NodeNext: relative imports need `.js`.
    module: { extension: '.js' },
    tsConfigPath: './tsconfig.json',
  },
  plugins: ['@hey-api/typescript'],
});
