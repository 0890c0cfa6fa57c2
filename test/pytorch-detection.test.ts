// The emitted PyTorch module of a detector carries its anchors and decoding settings, as the TypeScript module does:
// its anchor_generator() is torchvision's AnchorGenerator of them, and gives, for the committed RetinaNet, torchvision's
// own retinanet_resnet50_fpn anchors and netspec's generateAnchors, value for value.
import { spawnSync } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { generateAnchors, retinanetDefaultAnchors } from '../src/runtime/tasks/detection.js';

const PYTHON = '/usr/bin/python3';
const MODULE = 'generated/detection/retinanet_resnet50_fpn.py';

const REFERENCE = `
import importlib.util, json, sys, torch
from torchvision.models.detection.image_list import ImageList
from torchvision.models.detection.retinanet import _default_anchorgen
spec = importlib.util.spec_from_file_location("emitted", sys.argv[1])
emitted = importlib.util.module_from_spec(spec)
spec.loader.exec_module(emitted)
settings = emitted.DETECTION
height, width = settings["input"]
images = ImageList(torch.zeros(1, 3, height, width), [(height, width)])
features = [torch.zeros(1, 1, h, w) for h, w in settings["levels"]]
ours = emitted.anchor_generator()(images, features)[0]
theirs = _default_anchorgen()(images, features)[0]
print(json.dumps({"settings": settings, "same": bool(torch.equal(ours, theirs)), "anchors": ours.flatten().tolist()}))
`;

test("the emitted module's anchors are torchvision's RetinaNet's and netspec's, and its settings the TypeScript module's", () => {
  const run = spawnSync(PYTHON, ['-c', REFERENCE, MODULE], { encoding: 'utf8', maxBuffer: 1 << 28 });
  assert.is(run.status, 0, run.stderr);
  const { settings, same, anchors } = JSON.parse(run.stdout) as {
    settings: { input: number[]; levels: number[][]; anchor_sizes: number[][]; score_thresh: number; detections_per_img: number };
    same: boolean;
    anchors: number[];
  };
  assert.ok(same, "anchor_generator() is torchvision's default RetinaNet anchor generator");
  assert.equal(settings.input, [512, 512]);
  // 512 / 8 … 512 / 128: P3 to P7.
  assert.equal(settings.levels, [
    [64, 64],
    [32, 32],
    [16, 16],
    [8, 8],
    [4, 4],
  ]);
  assert.equal(settings.anchor_sizes, retinanetDefaultAnchors().sizes);
  assert.is(settings.score_thresh, 0.05);
  assert.is(settings.detections_per_img, 300);
  const levels = settings.levels.map(([height, width]) => ({ height: height!, width: width! }));
  const netspec = generateAnchors(512, 512, levels, retinanetDefaultAnchors()).flatMap((level) => [...level]);
  // (64² + 32² + 16² + 8² + 4²) locations × 9 anchors × 4 coordinates.
  assert.is(anchors.length, 5456 * 9 * 4);
  assert.equal(netspec, anchors);
});

test.run();
