// The scene dataset in its three layouts: what scripts/scenes.ts drew must read back as the same boxes, classes,
// flags, masks and pixels through the COCO, VOC and mask-folder readers, and PIL must see the same masks.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { openDetectionSource, openSegmentationSource, parseAnnotatedSource, type AnnotatedSource } from '../src/data/annotated-source.js';
import { SCENE_CLASSES } from '../scripts/scene-draw.js';
import { writeSceneDataset, type WrittenScene } from '../scripts/scenes.js';

const root = mkdtempSync(join(tmpdir(), 'netspec-scenes-'));
test.after(() => rmSync(root, { recursive: true, force: true }));

const written = writeSceneDataset(join(root, 'seed1'));
const splits = ['train', 'val'] as const;
const inSplit = (split: string) => written.scenes.filter((scene) => scene.split === split);

function source(text: string): AnnotatedSource {
  const parsed = parseAnnotatedSource(text);
  if (parsed === undefined || 'problem' in parsed) throw new Error(`${text} is not an annotated source`);
  return parsed;
}

test("the default scenes cover every rule of COCO's evaluation: small, medium and large objects, crowds, overlaps", () => {
  assert.equal([inSplit('train').length, inSplit('val').length], [24, 8]);
  const objects = written.scenes.flatMap((scene) => scene.objects.filter((o) => !o.crowd));
  // COCO's area ranges: small below 32² = 1024 pixels, medium to 96² = 9216, large above.
  assert.ok(objects.some((o) => o.area < 1024));
  assert.ok(objects.some((o) => o.area >= 1024 && o.area <= 9216));
  assert.ok(objects.some((o) => o.area > 9216));
  assert.ok(written.scenes.some((scene) => scene.split === 'val' && scene.objects.some((o) => o.crowd)));
  const overlaps = (scene: WrittenScene) =>
    scene.objects.some((a, i) =>
      scene.objects.some(
        (b, j) => j > i && a.box[0] < b.box[0] + b.box[2] && b.box[0] < a.box[0] + a.box[2] && a.box[1] < b.box[1] + b.box[3] && b.box[1] < a.box[1] + a.box[3],
      ),
    );
  assert.ok(written.scenes.filter(overlaps).length >= 4);
  assert.equal(new Set(written.scenes.map((scene) => scene.format)), new Set(['png', 'jpeg']));
  assert.equal(new Set(objects.map((o) => o.label)), new Set([0, 1, 2]));
});

test('COCO and VOC read back the drawn boxes, classes, crowds and areas of each split', () => {
  for (const split of splits) {
    const coco = openDetectionSource(source(written.coco[split]));
    const voc = openDetectionSource(source(written.voc), { split });
    const scenes = inSplit(split);
    assert.equal([coco.length, voc.length], [scenes.length, scenes.length]);
    assert.equal(
      coco.categories,
      SCENE_CLASSES.map((c) => ({ id: c.cocoId, name: c.name })),
    );
    assert.equal(
      voc.categories,
      SCENE_CLASSES.map((c, i) => ({ id: i + 1, name: c.name })),
    );
    assert.equal([coco.warnings, voc.warnings], [[], []]);
    scenes.forEach((scene, i) => {
      // COCO's file lists images from the highest id down; the reader orders them by id. VOC keeps the split's order.
      assert.equal([coco.image(i).id, voc.image(i).name], [scene.id, scene.name]);
      const [fromCoco, fromVoc] = [coco.objects(i), voc.objects(i)];
      const boxes = scene.objects.flatMap((o) => o.box);
      assert.equal([Array.from(fromCoco.boxes), Array.from(fromVoc.boxes)], [boxes, boxes], scene.name);
      const names = scene.objects.map((o) => SCENE_CLASSES[o.label]!.name);
      assert.equal(
        Array.from(fromCoco.labels, (label) => coco.categories[label]!.name),
        names,
      );
      assert.equal(
        Array.from(fromVoc.labels, (label) => voc.categories[label]!.name),
        names,
      );
      // Crowds are COCO's iscrowd and VOC's difficult; COCO's area is the visible pixels, VOC's the box.
      const crowds = scene.objects.map((o) => (o.crowd ? 1 : 0));
      assert.equal([Array.from(fromCoco.crowd), Array.from(fromVoc.difficult)], [crowds, crowds]);
      assert.equal(
        Array.from(fromCoco.areas),
        scene.objects.map((o) => o.area),
      );
      assert.equal(
        Array.from(fromVoc.areas),
        scene.objects.map((o) => o.box[2] * o.box[3]),
      );
    });
  }
});

test("COCO's segmentations are each object's visible pixels as uncompressed RLE, column by column", () => {
  const json = JSON.parse(readFileSync(join(root, 'seed1', 'coco', 'annotations', 'instances_val.json'), 'utf8')) as {
    annotations: { image_id: number; id: number; segmentation: { counts: number[]; size: [number, number] } }[];
  };
  for (const scene of inSplit('val')) {
    const annotations = json.annotations.filter((a) => a.image_id === scene.id).sort((a, b) => a.id - b.id);
    scene.objects.forEach((object, k) => {
      const { counts, size } = annotations[k]!.segmentation;
      assert.equal(size, [scene.height, scene.width]);
      // Runs alternate 0s and 1s from 0; pixel n of the run order is at column ⌊n / height⌋, row n mod height.
      const mask = new Uint8Array(scene.width * scene.height);
      let n = 0;
      counts.forEach((run, r) => {
        for (let end = n + run; n < end; n++) if (r % 2 === 1) mask[(n % scene.height) * scene.width + Math.floor(n / scene.height)] = 1;
      });
      assert.is(n, scene.width * scene.height);
      assert.equal(Array.from(mask), Array.from(object.mask));
    });
  }
});

test('VOC segmentation and the mask folder read back the drawn masks, and every layout the same pixels', async () => {
  for (const split of splits) {
    const voc = openSegmentationSource(source(written.voc), { split });
    const masks = openSegmentationSource(source(written.masks), { split });
    const coco = openDetectionSource(source(written.coco[split]));
    assert.equal(
      [voc.classNames, masks.classNames],
      [
        ['background', 'disc', 'square', 'triangle'],
        ['background', 'disc', 'square', 'triangle'],
      ],
    );
    const scenes = inSplit(split);
    for (const [i, scene] of scenes.entries()) {
      const [a, b, c] = await Promise.all([voc.load(i), masks.load(i), coco.load(i)]);
      assert.equal([a.image.name, b.image.name, c.image.id], [scene.name, scene.name, scene.id]);
      assert.equal(Array.from(a.mask), Array.from(scene.classes), scene.name);
      assert.equal(Array.from(b.mask), Array.from(scene.classes), scene.name);
      assert.equal([Array.from(b.pixels.data), Array.from(c.pixels.data)], [Array.from(a.pixels.data), Array.from(a.pixels.data)]);
      const error = meanAbsoluteDifference(a.pixels.data, scene.pixels);
      // PNG scenes are lossless; JPEG at quality 92 moves a pixel's channel by about 2 on average on these textures.
      if (scene.format === 'png') assert.is(error, 0);
      else assert.ok(error > 0 && error < 4, `${scene.name}: mean difference ${error}`);
    }
  }
});

function meanAbsoluteDifference(a: Uint8Array, b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / a.length;
}

const havePil = spawnSync('/usr/bin/python3', ['-c', 'import PIL, numpy'], { encoding: 'utf8' }).status === 0;

(havePil ? test : test.skip)("PIL, as torchvision's datasets use it, reads the written masks as the drawn classes", () => {
  const scenes = inSplit('val');
  const script = `
import json, sys, numpy as np
from PIL import Image
print(json.dumps([[Image.open(p).mode, np.array(Image.open(p)).ravel().tolist()] for p in sys.argv[1:]]))`;
  const paths = scenes.flatMap((scene) => [
    join(root, 'seed1', 'voc', 'SegmentationClass', `${scene.name}.png`),
    join(root, 'seed1', 'masks', 'val', 'masks', `${scene.name}.png`),
  ]);
  const run = spawnSync('/usr/bin/python3', ['-c', script, ...paths], { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  const read = JSON.parse(run.stdout) as [string, number[]][];
  scenes.forEach((scene, i) => {
    const [voc, folder] = [read[2 * i]!, read[2 * i + 1]!];
    // The mask folder alternates palette and grey masks by the scene's position in the dataset.
    assert.equal([voc[0], folder[0]], ['P', scene.id % 2 === 1 ? 'P' : 'L']);
    assert.equal(voc[1], Array.from(scene.classes));
    assert.equal(folder[1], Array.from(scene.classes));
  });
});

test('a seed draws the same dataset every time, and another seed another', () => {
  const again = writeSceneDataset(join(root, 'seed1-again'), { train: 2, val: 1 });
  const first = written.scenes.slice(0, 2);
  assert.equal(
    again.scenes.slice(0, 2).map((s) => Array.from(s.pixels)),
    first.map((s) => Array.from(s.pixels)),
  );
  const other = writeSceneDataset(join(root, 'seed2'), { seed: 2, train: 2, val: 1, width: 200, height: 150 });
  assert.equal([other.scenes[0]!.width, other.scenes[0]!.height], [200, 150]);
  assert.not.equal(
    other.scenes[0]!.objects.map((o) => o.box),
    first[0]!.objects.map((o) => o.box),
  );
});

test.run();
