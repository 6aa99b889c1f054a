import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ANTHROPIC_AUTH, OPENAI_AUTH, anthropicRequest, openaiRequest, post } from './helpers.js';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

/** Starts the built CLI, waits for the URL line, runs `use`, then stops the process. */
async function withCli(args: string[], use: (url: string) => Promise<void>): Promise<void> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const line = out.split('\n')[0];
        if (out.includes('\n')) resolve(line.trim());
      });
      child.once('exit', (code) => reject(new Error(`cli exited with ${code}`)));
    });
    await use(url);
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
}

// The CLI test runs against the build (`pnpm build` comes first in the package's definition of done).
describe('cli', () => {
  it('starts a fake Anthropic upstream and prints its URL', async () => {
    await withCli(['anthropic', '--stream-chunks', '5'], async (url) => {
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const res = await post(`${url}/v1/messages`, anthropicRequest({ stream: true }), ANTHROPIC_AUTH);
      const text = await res.text();
      expect(text.match(/text_delta/g)).toHaveLength(5);
    });
  });

  it('starts a fake OpenAI upstream', async () => {
    await withCli(['openai'], async (url) => {
      const res = await post(`${url}/v1/chat/completions`, openaiRequest(), OPENAI_AUTH);
      expect((await res.json()).object).toBe('chat.completion');
    });
  });
});
