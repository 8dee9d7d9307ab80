// Lint rules for the Dockerfile, after hadolint's (DL codes), which is not packaged for this
// machine. dockerfile-utils checks syntax and flags; these check the image's own promises.
import { DockerfileParser, type Dockerfile, type Instruction } from 'dockerfile-ast';

export interface Problem {
  rule: string;
  line: number;
  message: string;
}

/** `${NAME}` and `$NAME` replaced by the ARG defaults declared before the first FROM. */
export function expandArgs(dockerfile: Dockerfile, text: string): string {
  const defaults = new Map<string, string>();
  for (const arg of dockerfile.getInitialARGs()) {
    const [name, value] = (arg.getArgumentsContent() ?? '').split('=', 2);
    if (name !== undefined && value !== undefined) defaults.set(name, value.replace(/^"|"$/g, ''));
  }
  return text.replace(/\$\{(\w+)\}|\$(\w+)/g, (whole, braced?: string, bare?: string) => {
    return defaults.get((braced ?? bare)!) ?? whole;
  });
}

const line = (instruction: Instruction) => instruction.getRange().start.line + 1;
const args = (instruction: Instruction) => instruction.getArgumentsContent() ?? '';

export function lintDockerfile(text: string): Problem[] {
  const dockerfile = DockerfileParser.parse(text);
  const problems: Problem[] = [];
  const report = (rule: string, at: Instruction, message: string) =>
    problems.push({ rule, line: line(at), message });
  const froms = dockerfile.getFROMs();
  const stages = new Set(froms.map((from) => from.getBuildStage()).filter(Boolean));

  for (const from of froms) {
    const image = expandArgs(dockerfile, args(from).split(/\s+/)[0] ?? '');
    if (stages.has(image)) continue;
    const tag = /^[^@]+?:([^/@]+)$/.exec(image)?.[1];
    if (tag === undefined && !image.includes('@sha256:')) {
      report('DL3006', from, `image ${image} has no tag`);
    } else if (tag === 'latest') {
      report('DL3007', from, `image ${image} uses latest`);
    }
  }
  if (froms.length < 2) {
    problems.push({ rule: 'multi-stage', line: 1, message: 'the image is built in one stage' });
  }
  const instructions = dockerfile.getInstructions();
  const users = instructions.filter((instruction) => instruction.getKeyword() === 'USER');
  const lastUser = users.at(-1);
  if (lastUser === undefined) {
    problems.push({ rule: 'DL3002', line: 1, message: 'no USER: the container runs as root' });
  } else if (/^(root|0)(:|$)/.test(args(lastUser))) {
    report('DL3002', lastUser, 'the last USER is root');
  }
  for (const instruction of instructions) {
    const keyword = instruction.getKeyword();
    const content = args(instruction);
    if (keyword === 'ADD') report('DL3020', instruction, 'use COPY, not ADD');
    if (['CMD', 'ENTRYPOINT'].includes(keyword) && !content.trim().startsWith('[')) {
      report('DL3025', instruction, `${keyword} in shell form: signals do not reach the server`);
    }
    if (keyword === 'HEALTHCHECK' && !/CMD\s+\[/.test(content)) {
      report('DL3025', instruction, 'HEALTHCHECK CMD in shell form');
    }
    if (keyword === 'RUN' && /apt-get\s+install/.test(content)) {
      if (!/--no-install-recommends/.test(content)) {
        report('DL3015', instruction, 'apt-get install without --no-install-recommends');
      }
      if (!/rm -rf \/var\/lib\/apt\/lists/.test(content)) {
        report('DL3009', instruction, 'apt lists are not removed after apt-get install');
      }
    }
    if (keyword === 'RUN' && /(^|\s)sudo\s/.test(content)) {
      report('DL3004', instruction, 'sudo in RUN');
    }
    if (keyword === 'WORKDIR' && !content.startsWith('/')) {
      report('DL3000', instruction, 'WORKDIR must be absolute');
    }
  }
  return problems;
}
