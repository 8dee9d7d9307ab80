import type { ApiClient } from './client';
import type { ModelInfo } from './types';

/** The id of the canned model assistd serves when an operator configured none. */
export const demoModelId = 'assistd-demo';

export async function listModels(api: ApiClient): Promise<ModelInfo[]> {
  const body = (await api.json('/v1/models')) as { data?: unknown };
  if (!Array.isArray(body.data)) return [];
  return body.data.filter(
    (model): model is ModelInfo =>
      typeof model === 'object' && model !== null && typeof (model as ModelInfo).id === 'string',
  );
}

/** The model a new chat starts on: the server's default, else the first one that can answer. */
export function initialModel(models: readonly ModelInfo[]): string | undefined {
  const preferred =
    models.find((model) => model.default === true) ??
    models.find((model) => model.available !== false) ??
    models[0];
  return preferred?.id;
}

/** Whether the model accepts images (`capabilities.images`); unknown models do not. */
export function acceptsImages(models: readonly ModelInfo[], id: string | undefined): boolean {
  return models.find((model) => model.id === id)?.capabilities?.images === true;
}
