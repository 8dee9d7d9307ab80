import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Document } from 'yaml';
import type { RenderedObject } from './manifest.js';

const header = ' Rendered by `assistd deploy render`; edit the values and render again.';

function documentOf(object: RenderedObject, comment?: string): Document {
  // No anchors and aliases for objects used twice (a selector is also the spread constraints'
  // labelSelector): each manifest reads on its own.
  const document = new Document(object.manifest, { aliasDuplicateObjects: false });
  const lines = [comment, object.comment].filter((line) => line !== undefined);
  if (lines.length > 0) document.commentBefore = lines.join('\n');
  return document;
}

// lineWidth 0: folded PromQL and long JSON-ish strings are valid YAML but hard to read and diff.
const stringifyOptions = { lineWidth: 0 };

/** Every object as one multi-document YAML stream (what `kubectl apply -f -` reads). */
export function toYaml(objects: readonly RenderedObject[]): string {
  return objects
    .map((object, index) =>
      documentOf(object, index === 0 ? header : undefined).toString(stringifyOptions),
    )
    .join('---\n');
}

/** `NN-kind-name.yaml`, numbered in apply order (01 first). */
export function manifestFileName(index: number, object: RenderedObject): string {
  const number = String(index + 1).padStart(2, '0');
  const name = object.manifest.metadata?.name ?? 'unnamed';
  return `${number}-${object.manifest.kind.toLowerCase()}-${name}.yaml`;
}

/** A kustomization.yaml listing `files` (so `kubectl apply -k DIR` applies them in order). */
export function kustomization(files: readonly string[]): string {
  const document = new Document({
    apiVersion: 'kustomize.config.k8s.io/v1beta1',
    kind: 'Kustomization',
    resources: [...files],
  });
  document.commentBefore = header;
  return document.toString(stringifyOptions);
}

export interface WrittenManifests {
  /** The object files, in apply order, then kustomization.yaml. */
  files: string[];
  /** YAML files that were in the folder already and that this render did not write. */
  strays: string[];
}

/** Writes one file per object and the kustomization into `folder` (made when missing). */
export function writeManifests(
  folder: string,
  objects: readonly RenderedObject[],
): WrittenManifests {
  mkdirSync(folder, { recursive: true });
  const before = readdirSync(folder).filter((name) => /\.ya?ml$/.test(name));
  const files = objects.map((object, index) => {
    const name = manifestFileName(index, object);
    writeFileSync(join(folder, name), documentOf(object, header).toString(stringifyOptions));
    return name;
  });
  writeFileSync(join(folder, 'kustomization.yaml'), kustomization(files));
  const written = new Set([...files, 'kustomization.yaml']);
  return { files: [...written], strays: before.filter((name) => !written.has(name)) };
}
