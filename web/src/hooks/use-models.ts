import { useEffect, useState } from 'preact/hooks';
import { ApiError } from '../api/api-error';
import type { ApiClient } from '../api/client';
import { initialModel, listModels } from '../api/models';
import type { ModelInfo } from '../api/types';
import { describeError } from '../error-text';

export interface ModelsState {
  models: ModelInfo[];
  /** The model id the next turn is sent with; undefined until the list arrives (or when empty). */
  selected: string | undefined;
  select: (id: string) => void;
  error: string | undefined;
}

export function useModels(api: ApiClient): ModelsState {
  const [models, setModels] = useState<ModelInfo[]>([]);
  const [selected, setSelected] = useState<string | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);

  useEffect(() => {
    let current = true;
    listModels(api).then(
      (list) => {
        if (!current) return;
        setModels(list);
        // A conversation opened before the list arrived (a reload on its address) chose its model
        // already; it stays when it is still offered.
        setSelected((previous) =>
          previous !== undefined && list.some((model) => model.id === previous)
            ? previous
            : initialModel(list),
        );
      },
      (failure: unknown) => {
        if (current && failure instanceof ApiError && failure.status !== 401) {
          setError(`Models could not be loaded: ${describeError(failure)}`);
        }
      },
    );
    return () => {
      current = false;
    };
  }, [api]);

  return { models, selected, select: setSelected, error };
}
