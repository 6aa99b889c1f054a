import { defineConfig } from '@hey-api/openapi-ts';

// Typed fetch client for Conduit. The client runtime is bundled into src/generated/client
// (no @hey-api/client-fetch dependency needed at run time).
export default defineConfig({
  input: '../../openapi.yaml',
  output: {
    path: './src/generated',
    // The package compiles with module/moduleResolution NodeNext: relative imports need `.js`.
    module: { extension: '.js' },
    tsConfigPath: './tsconfig.json',
  },
  plugins: [
    '@hey-api/client-fetch',
    '@hey-api/typescript',
    {
      name: '@hey-api/sdk',
      // Flat, tree-shakeable functions named after the operationIds:
      // createMessage, countTokens, listModels, getModel, getHealth, getReady, getMetrics, ...
      operations: 'flat',
      // Do not enable request/response validators: the generated request validator
      // mishandles header parameters.
      validator: false,
    },
  ],
});
