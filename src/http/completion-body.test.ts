import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Harness } from '../../test/support/harness.js';
import { maxSchemaDepth } from './completion-body.js';

// The tool-calling members of POST /v1/chat/completions: what is refused, with which field named,
// before anything reaches the model endpoint.
let harness: Harness;
let noTools: Harness;

const tool = (name: string, parameters: object = { type: 'object' }) => ({
  type: 'function',
  function: { name, parameters },
});
const user = { role: 'user', content: 'x' };
const call = (id: string) => ({
  id,
  type: 'function',
  function: { name: 'get_weather', arguments: '{}' },
});

beforeAll(async () => {
  harness = await Harness.start();
  noTools = await Harness.start({
    config: { upstream: { accepts_tools: false, accepts_response_format: false } },
  });
});
afterAll(async () => {
  await harness.close();
  await noTools.close();
});
beforeEach(() => {
  harness.upstream.reset();
  noTools.upstream.reset();
});

async function refused(body: Record<string, unknown>, server = harness) {
  const response = await server.json<{ error: { code: string; param: string; message: string } }>(
    '/v1/chat/completions',
    { body: { model: 'gpt-4o-mini', ...body } },
  );
  expect(response.status).toBe(400);
  expect(server.upstream.chatRequests).toHaveLength(0);
  return response.body.error;
}

describe('tool use in /v1/chat/completions', () => {
  it.each([
    [{ messages: [user], tool_choice: 'auto' }, 'tool_choice'],
    [{ messages: [user], parallel_tool_calls: false }, 'parallel_tool_calls'],
    [{ messages: [user], tools: [] }, 'tools'],
    [{ messages: [user], tools: [tool('get weather')] }, 'tools[0].function.name'],
    [{ messages: [user], tools: [tool('f'), tool('f')] }, 'tools[1].function.name'],
    [
      {
        messages: [user],
        tools: [tool('f')],
        tool_choice: { type: 'function', function: { name: 'g' } },
      },
      'tool_choice.function.name',
    ],
    [{ messages: [user], tools: [tool('f')], tool_choice: 'sometimes' }, 'tool_choice'],
    [{ messages: [{ role: 'assistant', content: null }] }, 'messages[0].content'],
    [
      { messages: [{ role: 'user', content: 'x', tool_calls: [call('c1')] }] },
      'messages[0].tool_calls',
    ],
    [{ messages: [{ role: 'tool', content: '42' }] }, 'messages[0].tool_call_id'],
    [
      { messages: [{ role: 'user', content: 'x', tool_call_id: 'c1' }] },
      'messages[0].tool_call_id',
    ],
    [
      // A result must answer a call made earlier, not a later one.
      {
        messages: [
          { role: 'tool', tool_call_id: 'c1', content: '42' },
          { role: 'assistant', content: null, tool_calls: [call('c1')] },
        ],
      },
      'messages[0].tool_call_id',
    ],
    [
      {
        messages: [
          { role: 'assistant', content: null, tool_calls: [call('c1')] },
          {
            role: 'tool',
            tool_call_id: 'c1',
            content: [{ type: 'image_url', image_url: { url: 'https://x/y.png' } }],
          },
        ],
      },
      'messages[1].content',
    ],
    [{ messages: [{ role: 'user', content: 'x', refusal: 'no' }] }, 'messages[0].refusal'],
    [{ messages: [{ role: 'assistant', content: 'x', audio: { id: 'a1' } }] }, 'messages[0].audio'],
    [{ messages: [user], response_format: { type: 'yaml' } }, 'response_format.type'],
    [{ messages: [user], response_format: { type: 'json_schema' } }, 'response_format.json_schema'],
    [{ messages: [user], functions: [{ name: 'f' }] }, 'functions'],
  ])('refuses %j naming %s', async (body, param) => {
    const error = await refused(body);
    expect(error.param).toBe(param);
    expect(error.message).toContain(param.split('.')[0]!.split('[')[0]);
  });

  it(`refuses a JSON Schema nested deeper than ${maxSchemaDepth} levels (it would overflow the stack on the way out)`, async () => {
    // Written as text: serialising it here would overflow this process's stack as well.
    const nested = (levels: number) =>
      '{"type":"array","items":'.repeat(levels) + '{"type":"string"}' + '}'.repeat(levels);
    const send = async (member: string) => {
      const response = await fetch(`${harness.url}/v1/chat/completions`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${harness.adminToken}`,
          'content-type': 'application/json',
        },
        body: `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"x"}],${member}}`,
      });
      return {
        status: response.status,
        body: (await response.json()) as { error: { param: string } },
      };
    };
    const deep = nested(20_000);
    const tools = await send(
      `"tools":[{"type":"function","function":{"name":"f","parameters":${deep}}}]`,
    );
    expect(tools.status).toBe(400);
    expect(tools.body.error).toMatchObject({
      code: 'invalid_request',
      param: 'tools[0].function.parameters',
    });
    const format = await send(
      `"response_format":{"type":"json_schema","json_schema":{"name":"n","schema":${deep}}}`,
    );
    expect(format.status).toBe(400);
    expect(format.body.error.param).toBe('response_format.json_schema.schema');
    expect(harness.upstream.chatRequests).toHaveLength(0);

    // At the bound it passes.
    const fits = await send(
      `"tools":[{"type":"function","function":{"name":"f","parameters":${nested(maxSchemaDepth - 1)}}}]`,
    );
    expect(fits.status).toBe(200);
    const over = await send(
      `"tools":[{"type":"function","function":{"name":"f","parameters":${nested(maxSchemaDepth)}}}]`,
    );
    expect(over.status).toBe(400);
  });

  it('sends "text" as the response format to no one (any model takes it), and nulls as nothing', async () => {
    const response = await noTools.json('/v1/chat/completions', {
      body: {
        model: 'gpt-4o-mini',
        messages: [user],
        response_format: { type: 'text' },
        tools: null,
        tool_choice: null,
        parallel_tool_calls: null,
      },
    });
    expect(response.status).toBe(200);
    const sent = noTools.upstream.chatRequests[0]!.body as Record<string, unknown>;
    expect(Object.keys(sent)).not.toContain('response_format');
    expect(Object.keys(sent)).not.toContain('tools');
  });

  it('refuses tools, tool messages and JSON output for a model declared without them', async () => {
    const models = await noTools.json<{ data: Array<{ capabilities: object }> }>('/v1/models');
    expect(models.body.data[0]!.capabilities).toEqual({
      images: false,
      tools: false,
      json_output: false,
    });
    expect(await refused({ messages: [user], tools: [tool('f')] }, noTools)).toMatchObject({
      code: 'unsupported_parameter',
      param: 'tools',
      message: 'Model "gpt-4o-mini" does not support tools.',
    });
    expect(
      await refused({ messages: [user], response_format: { type: 'json_object' } }, noTools),
    ).toMatchObject({
      code: 'unsupported_parameter',
      param: 'response_format',
      message: 'Model "gpt-4o-mini" does not support structured output.',
    });
    expect(
      await refused(
        {
          messages: [
            { role: 'assistant', content: null, tool_calls: [call('c1')] },
            { role: 'tool', tool_call_id: 'c1', content: '42' },
          ],
        },
        noTools,
      ),
    ).toMatchObject({ code: 'unsupported_parameter', param: 'messages[0].tool_calls' });
  });
});
