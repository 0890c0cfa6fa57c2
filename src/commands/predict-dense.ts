import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { UserError, UserErrors } from '../errors/user-error.js';
import { displayPath, printable } from '../files/display-path.js';
import { describeFsError, isSystemError } from '../files/fs-errors.js';
import { outputProblem, PRODUCER, type OutputKind } from '../files/output-guard.js';
import type { BatchOutput } from '../evaluate/runner.js';
import type { Task } from '../ir/graph.js';
import { decodeBatch, type DetectionConfig, type Detections } from '../runtime/tasks/detection.js';
import { blendMask, drawDetections, segmentationPalette } from '../runtime/tasks/overlay.js';
import { encodePng } from '../runtime/images/png.js';
import type { Placement } from '../runtime/images/pipeline.js';
import type { Pixels } from '../runtime/images/pixels.js';
import { classMasks, type ClassMask } from '../runtime/tasks/segmentation.js';

/** Class names for a task's classes: the weights folder's, else PASCAL VOC's (21) or COCO's (91) as torchvision lists them. */
export function taskClassNames(task: Task, saved: readonly string[] | undefined): (label: number) => string {
  const known = (file: string) => JSON.parse(readFileSync(new URL(`../../data/${file}`, import.meta.url), 'utf8')) as string[];
  const names =
    saved ??
    (task.kind === 'segmentation' && task.classes === 21
      ? known('voc-classes.json')
      : task.kind === 'detection' && task.classes === 91
        ? known('coco-classes.json')
        : undefined);
  return (label) => names?.[label] ?? `class ${label}`;
}

const PALETTE = segmentationPalette(256);

/** A class's colour in the blended picture, as #rrggbb. */
const classColour = (label: number) => `#${[...PALETTE.subarray(3 * label, 3 * label + 3)].map((v) => v.toString(16).padStart(2, '0')).join('')}`;

/** Each class's share of a mask's pixels, largest first. */
function classShares(mask: ClassMask): { label: number; share: number }[] {
  const counts = new Map<number, number>();
  for (const label of mask.classes) counts.set(label, (counts.get(label) ?? 0) + 1);
  return [...counts].map(([label, count]) => ({ label, share: count / mask.classes.length })).sort((a, b) => b.share - a.share || a.label - b.label);
}

/**
 * Writes one image's results together: each to a temporary file first, then each renamed into place, replacing
 * netspec's own earlier results (checkResultFiles has refused anything else before any work).
 */
function writeResults(files: readonly { readonly path: string; readonly bytes: Uint8Array | string }[]): void {
  const temporary = files.map(({ path }) => join(dirname(path), `.${basename(path)}.${process.pid}.tmp`));
  try {
    files.forEach(({ bytes }, i) => writeFileSync(temporary[i]!, bytes, { flag: 'wx' }));
    files.forEach(({ path }, i) => renameSync(temporary[i]!, path));
  } catch (error) {
    if (!isSystemError(error)) throw error;
    const path = (error as NodeJS.ErrnoException & { dest?: string }).dest ?? error.path ?? files[0]!.path;
    throw new UserError(`cannot write ${displayPath(path)}: ${describeFsError(error)}`);
  } finally {
    temporary.forEach((path) => rmSync(path, { force: true }));
  }
}

/** The files predict writes for one image under the output folder, and how netspec knows each for its own. */
function resultFiles(task: Task, folder: string, image: string): { path: string; kind: OutputKind }[] {
  const stem = join(folder, stemOf(image));
  return task.kind === 'detection'
    ? [
        { path: `${stem}.detections.json`, kind: 'json' },
        { path: `${stem}.detections.png`, kind: 'png' },
      ]
    : [{ path: `${stem}.segmentation.png`, kind: 'png' }];
}

/**
 * Before any work: two images whose results would share a file (`x.png` and `x.jpg`, or the same name in two
 * folders) and anything at a result's path that netspec did not write are refused, every one listed, so that
 * nothing is half done; netspec's own earlier results are replaced.
 */
export function checkResultFiles(task: Task, folder: string, images: readonly string[]): void {
  const problems: UserError[] = [];
  const owner = new Map<string, string>();
  for (const image of images) {
    for (const { path, kind } of resultFiles(task, folder, image)) {
      const earlier = owner.get(path);
      const problem = earlier === undefined ? outputProblem(path, kind) : undefined;
      if (earlier !== undefined)
        problems.push(
          new UserError(
            `${printable(earlier)} and ${printable(image)} would both write ${displayPath(path)}; predict them into different --out folders, or rename one`,
          ),
        );
      else if (problem !== undefined) problems.push(new UserError(problem));
      owner.set(path, image);
    }
  }
  if (problems.length > 0) throw new UserErrors(problems);
}

export interface DenseOutput {
  /** Where the results go. */
  readonly folder: string;
  /** Detections scoring below this are left out of the JSON and the drawing. */
  readonly minScore: number;
}

/** The file name stem of an image's results: its own name without the extension. */
const stemOf = (path: string) => basename(path, extname(path));

/** Segments one image: prints each class's share and writes `<image>.segmentation.png`, the classes blended over it. */
export function segmentImage(
  outputs: ReadonlyMap<string, BatchOutput>,
  path: string,
  image: Pixels,
  placement: Placement,
  names: (label: number) => string,
  output: DenseOutput,
): void {
  const mask = classMasks(outputs.get('out')!, [placement])[0]!;
  const file = join(output.folder, `${stemOf(path)}.segmentation.png`);
  writeResults([{ path: file, bytes: encodePng(blendMask(image, mask)) }]);
  process.stdout.write(`${printable(path)} → ${displayPath(file)}\n`);
  // Each class with the colour it is drawn in: the key to the picture.
  for (const { label, share } of classShares(mask))
    process.stdout.write(`  ${(100 * share).toFixed(2).padStart(6)}%  ${printable(names(label))}  ${classColour(label)}\n`);
}

/** The detections scoring at least `minScore`. */
function scoringAtLeast(detections: Detections, minScore: number): Detections {
  const keep = [...detections.scores.keys()].filter((i) => detections.scores[i]! >= minScore);
  return {
    boxes: Float32Array.from(keep.flatMap((i) => [...detections.boxes.subarray(4 * i, 4 * i + 4)])),
    scores: Float32Array.from(keep, (i) => detections.scores[i]!),
    labels: Int32Array.from(keep, (i) => detections.labels[i]!),
  };
}

/** Detects objects in one image: prints them, writes `<image>.detections.json` and `<image>.detections.png` with the boxes drawn. */
export function detectImage(
  outputs: ReadonlyMap<string, BatchOutput>,
  config: DetectionConfig,
  path: string,
  image: Pixels,
  placement: Placement,
  names: (label: number) => string,
  output: DenseOutput,
): void {
  const [detections] = decodeBatch(outputs.get('cls_logits')!, outputs.get('bbox_regression')!, config, [placement]);
  const found = scoringAtLeast(detections!, output.minScore);
  const list = [...found.scores.keys()].map((i) => ({
    label: found.labels[i]!,
    name: names(found.labels[i]!),
    score: found.scores[i]!,
    box: [...found.boxes.subarray(4 * i, 4 * i + 4)],
  }));
  const [json, png] = ['json', 'png'].map((extension) => join(output.folder, `${stemOf(path)}.detections.${extension}`));
  const text = `${JSON.stringify({ producer: PRODUCER, image: path, width: image.width, height: image.height, minScore: output.minScore, detections: list }, null, 2)}\n`;
  writeResults([
    { path: json!, bytes: text },
    { path: png!, bytes: encodePng(drawDetections(image, found, names)) },
  ]);
  process.stdout.write(
    `${printable(path)} → ${displayPath(png!)}, ${displayPath(json!)}: ${list.length} detection${list.length === 1 ? '' : 's'} scoring ${output.minScore} or more\n`,
  );
  for (const { name, score, box } of list) process.stdout.write(`  ${score.toFixed(3)}  ${printable(name)} at (${box.map((v) => v.toFixed(1)).join(', ')})\n`);
}

/** Creates the results folder (and its parents) when it is not there yet. */
export function prepareOutputFolder(folder: string): void {
  try {
    mkdirSync(folder, { recursive: true });
  } catch (error) {
    if (!isSystemError(error)) throw error;
    throw new UserError(`cannot create the folder ${folder}: ${describeFsError(error)}`);
  }
}
