import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command } from 'commander';
import type { Values } from '../deploy/render/index.js';
import { UsageError, type CliIo } from './io.js';
import { ensureFolder } from '../util/data-dir.js';

/** The renderer, loaded when a deploy command runs rather than with every command. */
const renderer = () => import('../deploy/render/index.js');

/**
 * `assistd deploy …`: Kubernetes manifests for replicas sharing PostgreSQL, Redis and object
 * storage. Offline: reads the values file only, contacts no cluster.
 */
export function deployCommand(io: CliIo): Command {
  const deploy = new Command('deploy').description(
    'Kubernetes manifests for a scaled-out deployment (render them, print the default values)',
  );

  deploy
    .command('render')
    .description(
      'render the manifests: one YAML stream on stdout, or one file per object and a kustomization.yaml in --out',
    )
    .option(
      '--values <file>',
      'values file (YAML; see `assistd deploy values`); default: all defaults',
    )
    .option('--out <dir>', 'write NN-kind-name.yaml files and kustomization.yaml into this folder')
    .action(async (flags: { values?: string; out?: string }) => {
      const { renderManifests, toYaml, ValuesError, writeManifests } = await renderer();
      const values = await valuesFrom(flags.values, io);
      let objects;
      try {
        objects = renderManifests(values);
      } catch (error) {
        if (error instanceof ValuesError) throw new UsageError(error.message);
        throw error;
      }
      if (flags.out === undefined) {
        io.stdout(toYaml(objects));
        return;
      }
      const folder = resolve(io.cwd, flags.out);
      ensureFolder(folder, 'the manifest folder', '--out');
      const written = writeManifests(folder, objects);
      io.stderr(`wrote ${written.files.length} files to ${folder}\n`);
      for (const stray of written.strays) {
        io.stderr(
          `warning: ${stray} in ${folder} is not from this render (not in kustomization.yaml)\n`,
        );
      }
    });

  deploy
    .command('values')
    .description('print the default values file, with comments: a starting point for --values')
    .action(async () => io.stdout((await renderer()).defaultValuesYaml()));

  return deploy;
}

async function valuesFrom(file: string | undefined, io: CliIo): Promise<Values> {
  const { parseValues, ValuesError } = await renderer();
  try {
    if (file === undefined) return parseValues('', 'the default values');
    const path = resolve(io.cwd, file);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const reason = code === 'ENOENT' ? 'no such file' : (code ?? String(error));
      throw new UsageError(`cannot read values file ${path}: ${reason}`);
    }
    return parseValues(text, file);
  } catch (error) {
    if (error instanceof ValuesError) throw new UsageError(error.message);
    throw error;
  }
}
