// Invalid specs from the project's checklist of bad inputs, each with the exact diagnostics it must produce:
// file, line, column, stable code and a sentence naming the value. Positions were counted by hand on the texts below.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compileSpec } from '../src/compile.js';
import { formatDiagnostic } from '../src/errors/diagnostics.js';
import { read } from '../src/spec/read.js';
import { validate } from '../src/spec/validate.js';
import { baseLines, baseSpec as base, withLine } from './support/base-spec.js';

const FILE = 'specs/x.json';

function diagnose(source: string | Uint8Array): string[] {
  const bytes = typeof source === 'string' ? new TextEncoder().encode(source) : source;
  return compileSpec(FILE, bytes).diagnostics.map(formatDiagnostic);
}

const cases: [title: string, source: string | Uint8Array, expected: string[]][] = [
  // Parsing
  ['not JSON at all', 'resnet34 please', [`${FILE}:1:1: error NS010: unexpected 'r' in JSON`]],
  ['truncated JSON', '{\n  "name": "tiny",\n  "input": {', [`${FILE}:3:13: error NS010: the JSON ends early: a value or a closing bracket is missing`]],
  [
    'trailing comma',
    withLine(7, '  "head": { "type": "classifier", "classes": 10, }'),
    [`${FILE}:7:48: error NS010: trailing comma before '}' is not allowed in JSON`],
  ],
  ['a bad value in an unfinished file', '{ "name": x', [`${FILE}:1:11: error NS010: unexpected 'x' in JSON`]],
  ['a truncated string', '{ "name": "tin', [`${FILE}:1:15: error NS010: the JSON ends early: a value or a closing bracket is missing`]],
  ['a comment', withLine(5, '  "block": { "type": "basic" }, // the CIFAR block'), [`${FILE}:5:33: error NS010: comments are not allowed in JSON`]],
  ['an empty file', '', [`${FILE}:1:1: error NS010: the file is empty; a spec is a JSON object`]],
  ['a file of whitespace', '  \n\n', [`${FILE}:1:1: error NS010: the file is empty; a spec is a JSON object`]],
  ['single-quoted strings', "{ 'name': 'tiny' }", [`${FILE}:1:3: error NS010: strings in JSON take double quotes, not '`]],
  ['NaN', withLine(7, '  "head": { "type": "classifier", "classes": NaN }'), [`${FILE}:7:46: error NS010: unexpected 'N' in JSON`]],
  [
    'a raw newline inside a string',
    '{ "name": "ti\nny" }',
    [`${FILE}:1:14: error NS010: control character U+000A inside a string; write it as an escape such as \\n`],
  ],
  ['a UTF-8 byte-order mark keeps positions', `\uFEFF${withLine(2, '  "name": 5,')}`, [`${FILE}:2:11: error NS101: name must be a string, got 5`]],
  [
    'invalid UTF-8 bytes',
    new Uint8Array([...new TextEncoder().encode('{\n  "name": "ti'), 0xff, ...new TextEncoder().encode('ny" }')]),
    [`${FILE}:2:14: error NS003: byte 0xff at offset 15 is not valid UTF-8; save the file as UTF-8`],
  ],
  [
    'a UTF-8 sequence cut off at the end of the file',
    new Uint8Array([...new TextEncoder().encode('{ "name": "é'), 0xe2, 0x82]),
    [`${FILE}:1:13: error NS003: byte 0xe2 at offset 13 is not valid UTF-8; save the file as UTF-8`],
  ],
  [
    'CRLF line endings and tabs keep positions',
    withLine(6, '\t"stages": {\t"widths": [16, 32], "depths": [1, 0], "strides": [1, 2] },').replace(/\n/g, '\r\n'),
    [`${FILE}:6:48: error NS104: stages.depths[1] must be >= 1, got 0`],
  ],
  [
    'a duplicate key',
    withLine(2, '  "name": "tiny", "name": "small",'),
    [`${FILE}:2:19: error NS011: key "name" appears twice in this object (first on line 2); JSON keeps only the last, so remove one`],
  ],
  [
    'duplicate keys are reported with schema errors at once',
    withLine(5, '  "block": { "type": "basic", "type": "wide" },'),
    [
      `${FILE}:5:31: error NS011: key "type" appears twice in this object (first on line 5); JSON keeps only the last, so remove one`,
      `${FILE}:5:39: error NS105: block.type must be one of "basic", "bottleneck", got "wide"`,
    ],
  ],
  [
    '__proto__ as a key',
    withLine(2, '  "name": "tiny", "__proto__": { "polluted": true },'),
    [`${FILE}:2:19: error NS103: unknown field "__proto__" in the spec`],
  ],
  [
    'constructor and prototype as nested keys',
    withLine(5, '  "block": { "type": "basic", "constructor": 1, "prototype": {} },'),
    [`${FILE}:5:31: error NS103: unknown field "constructor" in block`, `${FILE}:5:49: error NS103: unknown field "prototype" in block`],
  ],
  [
    'an integer beyond 2^53',
    withLine(7, '  "head": { "type": "classifier", "classes": 12345678901234567890 }'),
    [
      `${FILE}:7:46: error NS012: integer 12345678901234567890 is beyond 2^53 and cannot be represented exactly`,
      `${FILE}:7:46: error NS104: head.classes must be <= 100000, got 12345678901234567890`,
    ],
  ],
  [
    '1e400',
    withLine(3, '  "input": { "height": 1e400, "width": 32, "channels": 3 },'),
    [`${FILE}:3:24: error NS012: number 1e400 is too large to represent`, `${FILE}:3:24: error NS101: input.height must be an integer, got 1e400`],
  ],
  [
    '-0 as a width',
    withLine(4, '  "stem": { "type": "conv", "width": -0, "kernelSize": 3, "stride": 1 },'),
    [`${FILE}:4:38: error NS104: stem.width must be >= 1, got -0`],
  ],
  [
    'a fractional width',
    withLine(6, '  "stages": { "widths": [16.5, 32], "depths": [1, 1], "strides": [1, 2] },'),
    [`${FILE}:6:26: error NS101: stages.widths[0] must be an integer, got 16.5`],
  ],
  ['100,000 levels of nesting', '['.repeat(100_000), [`${FILE}:1:65: error NS004: the JSON is nested more than 64 levels deep`]],
  [
    'a file over the size limit',
    `${base}${' '.repeat(1024 * 1024)}`,
    [`${FILE}:1:1: error NS002: the file is ${base.length + 1024 * 1024} bytes; spec files are limited to 1048576 bytes`],
  ],
  // Content
  ['a wrong type', withLine(3, '  "input": "32x32",'), [`${FILE}:3:12: error NS101: input must be an object, got "32x32"`]],
  [
    'a missing required field',
    baseLines
      .filter((_, i) => i !== 6)
      .join('\n')
      .replace('},\n}', '}\n}'),
    [`${FILE}:1:1: error NS102: the spec is missing the required field "head"`],
  ],
  [
    'an unknown field with a suggestion',
    withLine(4, '  "stem": { "type": "conv", "width": 16, "kernelsize": 3, "stride": 1 },'),
    [
      `${FILE}:4:11: error NS102: stem is missing the required field "kernelSize"`,
      `${FILE}:4:42: error NS103: unknown field "kernelsize" in stem; did you mean "kernelSize"?`,
    ],
  ],
  [
    'an unknown block type',
    withLine(5, '  "block": { "type": "bottlenek" },'),
    [`${FILE}:5:22: error NS105: block.type must be one of "basic", "bottleneck", got "bottlenek"; did you mean "bottleneck"?`],
  ],
  [
    'an unknown stem type',
    withLine(4, '  "stem": { "type": "shallow", "width": 16, "kernelSize": 3, "stride": 1 },'),
    [`${FILE}:4:21: error NS105: stem.type must be one of "conv", "deep", got "shallow"`],
  ],
  [
    'an unknown head type',
    withLine(7, '  "head": { "type": "clasifier", "classes": 10 }'),
    [
      `${FILE}:7:21: error NS105: head.type must be one of "classifier", "pool", "none", "fcn", "deeplabv3", "retinanet", got "clasifier"; did you mean "classifier"?`,
    ],
  ],
  [
    'a head without its type',
    withLine(7, '  "head": {}'),
    [`${FILE}:7:11: error NS102: head is missing the required field "type" (one of "classifier", "pool", "none", "fcn", "deeplabv3", "retinanet")`],
  ],
  [
    'a classifier without classes',
    withLine(7, '  "head": { "type": "classifier" }'),
    [`${FILE}:7:11: error NS102: head is missing the required field "classes"`],
  ],
  [
    'a kernel size that is not offered',
    withLine(4, '  "stem": { "type": "conv", "width": 16, "kernelSize": 4, "stride": 1 },'),
    [`${FILE}:4:56: error NS105: stem.kernelSize must be one of 1, 3, 5, 7, got 4`],
  ],
  [
    'stage lists of unequal length',
    withLine(6, '  "stages": { "widths": [16, 32], "depths": [1], "strides": [1, 2, 2] },'),
    [
      `${FILE}:6:45: error NS201: stages.depths has 1 entries but stages.widths has 2; each stage needs one entry in every list`,
      `${FILE}:6:61: error NS201: stages.strides has 3 entries but stages.widths has 2; each stage needs one entry in every list`,
    ],
  ],
  [
    'zero stages',
    withLine(6, '  "stages": { "widths": [], "depths": [], "strides": [] },'),
    [
      `${FILE}:6:25: error NS107: stages.widths must have at least 1 entry, got []`,
      `${FILE}:6:39: error NS107: stages.depths must have at least 1 entry, got []`,
      `${FILE}:6:54: error NS107: stages.strides must have at least 1 entry, got []`,
    ],
  ],
  [
    'depth 0',
    withLine(6, '  "stages": { "widths": [16, 32], "depths": [1, 0], "strides": [1, 2] },'),
    [`${FILE}:6:49: error NS104: stages.depths[1] must be >= 1, got 0`],
  ],
  [
    'strides that outrun the input',
    withLine(3, '  "input": { "height": 2, "width": 2, "channels": 3 },').replace('"strides": [1, 2]', '"strides": [2, 2]'),
    [
      `${FILE}:6:68: error NS202: stage 2 has stride 2 but receives a 1×1 feature map, which it cannot reduce; the 2×2 input is too small for this model's strides`,
    ],
  ],
  [
    // Parameters: stem 3·3·3·16 + 2·16 = 464. Stage 1 block 0: 3·3·16·8192 + 3·3·8192·8192 + 2·2·8192 + 16·8192 + 2·8192
    // = 605,339,648; each of 99 more blocks 2·(3·3·8192·8192) + 2·2·8192 = 1,207,992,320. Stage 2 block 0:
    // 2·603,979,776 + 32,768 + 8192·8192 + 16,384 = 1,275,117,568, then 99 · 1,207,992,320 again. fc 8192·10 + 10.
    // Sum: 464 + 605,339,648 + 2 · 119,591,239,680 + 1,275,117,568 + 81,930 = 241,063,018,970.
    // MACs (weights × output pixels; stage 1 at 32·32, stage 2 at 16·16): 123,077,925,011,456 + 30,940,944,400,384
    // + stem 432·1024 + fc 81,920 = 154,018,869,936,128.
    'a model of hundreds of billions of parameters',
    withLine(6, '  "stages": { "widths": [8192, 8192], "depths": [100, 100], "strides": [1, 2] },'),
    [
      `${FILE}:6:13: error NS301: the model has 154,018,869,936,128 multiply-accumulates per image, above the limit of 10,000,000,000,000`,
      `${FILE}:6:25: error NS301: the model has 241,063,018,970 trainable parameters, above the limit of 1,000,000,000`,
    ],
  ],
  [
    '10,000 blocks',
    withLine(6, '  "stages": { "widths": [16, 32], "depths": [10000, 1], "strides": [1, 2] },'),
    [`${FILE}:6:46: error NS104: stages.depths[0] must be <= 100, got 10000`],
  ],
  [
    'an input too large to hold in memory',
    withLine(3, '  "input": { "height": 4096, "width": 4096, "channels": 3 },').replace('"width": 16,', '"width": 17,'),
    [`${FILE}:3:12: error NS301: the model has 285,212,672 values in its largest feature map (conv1, 4096×4096×17), above the limit of 268,435,456`],
  ],
  // Combinations of the ResNet family that cannot work
  [
    'groups that do not divide the bottleneck width',
    withLine(5, '  "block": { "type": "bottleneck", "groups": 8, "widthPerGroup": 6 },'),
    [
      `${FILE}:6:26: error NS203: stage 1 width 16 gives 16·6/64 = 1.5 channels per group, so its 8 groups cannot divide the bottleneck width evenly; make width × widthPerGroup a multiple of 64`,
    ],
  ],
  [
    'a stage too narrow for one channel per group',
    withLine(5, '  "block": { "type": "bottleneck", "groups": 32, "widthPerGroup": 2 },'),
    [
      `${FILE}:6:26: error NS203: stage 1 width 16 gives 16·2/64 = 0.5 channels per group, so its 32 groups cannot divide the bottleneck width evenly; make width × widthPerGroup a multiple of 64`,
    ],
  ],
  [
    'dilation with basic blocks',
    withLine(6, '  "stages": { "widths": [16, 32], "depths": [1, 1], "strides": [1, 2], "dilate": [false, true] },'),
    [`${FILE}:6:90: error NS204: stage 2 is dilated, but basic blocks do not support dilation (nor do torchvision's); use bottleneck blocks`],
  ],
  [
    'a strided stage after a dilated one',
    withLine(5, '  "block": { "type": "bottleneck" },').replace('"strides": [1, 2] }', '"strides": [2, 2], "dilate": [true, false] }'),
    [
      `${FILE}:6:83: warning NS501: stage 1 uses dilation 2; only netspec's wasm kernels compute gradients of dilated convolutions in TensorFlow.js, so this model trains on the wasm backend only`,
      `${FILE}:6:89: error NS205: stage 2 is not dilated but stage 1 is; dilation carries over to later stages, which would then need a strided dilated convolution, so dilate every stage after the first dilated one`,
    ],
  ],
  [
    'outputs naming a missing stage',
    withLine(7, '  "head": { "type": "none" }, "outputs": ["C2", "C3", "C4"]'),
    [`${FILE}:7:55: error NS206: outputs[2] is "C4", but the model has 2 stages (C2–C3)`],
  ],
  [
    'an unknown output name',
    withLine(7, '  "head": { "type": "none" }, "outputs": ["C1"]'),
    [`${FILE}:7:43: error NS105: outputs[0] must be one of "C2", "C3", "C4", "C5", "C6", "C7", "C8", "C9", got "C1"; did you mean "C2"?`],
  ],
  [
    'an avgPool shortcut with stride 3',
    withLine(5, '  "block": { "type": "basic", "shortcut": "avgPool" },').replace('"strides": [1, 2]', '"strides": [1, 3]'),
    [`${FILE}:6:68: error NS207: stage 2 has stride 3, but the avgPool shortcut pools 2×2 and supports strides 1 and 2`],
  ],
  [
    'a dilated model warns that tfjs cannot train it, and still compiles',
    withLine(5, '  "block": { "type": "bottleneck" },').replace('"strides": [1, 2] }', '"strides": [1, 2], "dilate": [false, true] }'),
    [
      `${FILE}:6:90: warning NS501: stage 2 uses dilation 2; only netspec's wasm kernels compute gradients of dilated convolutions in TensorFlow.js, so this model trains on the wasm backend only`,
    ],
  ],
  // Necks, segmentation and detection heads
  [
    'a neck reading a stage the backbone lacks',
    withLine(7, '  "head": { "type": "none" }, "neck": { "type": "fpn", "from": ["C2", "C4"] }'),
    [`${FILE}:7:71: error NS208: neck.from[1] is "C4", but the backbone has 2 stages (C2–C3)`],
  ],
  [
    'a RetinaNet head without a neck',
    withLine(7, '  "head": { "type": "retinanet", "classes": 5 }'),
    [
      `${FILE}:7:21: error NS209: a RetinaNet head reads the levels of a feature pyramid; add "neck": { "type": "fpn", "from": ["C3", "C4", "C5"], "extra": "p6p7" }`,
    ],
  ],
  [
    'a segmentation head on a neck',
    withLine(7, '  "head": { "type": "fcn", "classes": 5 }, "neck": { "type": "fpn", "from": ["C2", "C3"] }'),
    [`${FILE}:7:52: error NS209: an FCN head reads the last stage, not a feature pyramid; remove the neck, or use a "retinanet" or "none" head`],
  ],
  [
    'stage outputs beside a segmentation head',
    withLine(7, '  "head": { "type": "fcn", "classes": 5 }, "outputs": ["C2"]'),
    [`${FILE}:7:55: error NS209: outputs selects stage features, but a model with an FCN head returns its own outputs; remove outputs`],
  ],
  [
    'segmentation with no classes',
    withLine(7, '  "head": { "type": "deeplabv3", "classes": 0 }'),
    [`${FILE}:7:45: error NS104: head.classes must be >= 1, got 0`],
  ],
  [
    'anchors for fewer levels than the pyramid has',
    withLine(
      7,
      '  "head": { "type": "retinanet", "classes": 5, "anchors": { "sizes": [[32], [64]], "ratios": [[1]] } }, "neck": { "type": "fpn", "from": ["C2", "C3"], "extra": "pool" }',
    ),
    [`${FILE}:7:70: error NS210: anchors.sizes has 2 entries, but the pyramid has 3 levels (2 from the backbone, 1 extra); give one list of sizes per level`],
  ],
  [
    'levels with different anchor counts',
    withLine(
      7,
      '  "head": { "type": "retinanet", "classes": 5, "anchors": { "sizes": [[32], [64, 90]], "ratios": [[1]] } }, "neck": { "type": "fpn", "from": ["C2", "C3"], "extra": "none" }',
    ),
    [
      `${FILE}:7:77: error NS210: level 2 has 2 anchors per location (sizes × ratios) but level 1 has 1; the head's towers are shared by every level, so each level needs the same count`,
    ],
  ],
  [
    'DeepLab on an undilated backbone warns, and still compiles',
    withLine(7, '  "head": { "type": "deeplabv3", "classes": 5 }'),
    [
      `${FILE}:7:21: warning NS502: a DeepLabV3 head on an undilated backbone sees the last stage at its full stride; torchvision dilates C4 and C5 (stages.dilate [false, false, true, true]) so that ASPP sees output stride 8`,
    ],
  ],
  // timm's options
  [
    'pruned widths for a stage with a different depth',
    withLine(6, '  "stages": { "widths": [16, 32], "depths": [1, 1], "strides": [1, 2], "blockWidths": [[[8]], [[8], [8]]] },'),
    [`${FILE}:6:95: error NS211: stages.blockWidths[1] lists 2 blocks, but stage 2 has 1; give one entry per block`],
  ],
  [
    'a pruned bottleneck giving one width',
    withLine(5, '  "block": { "type": "bottleneck" },').replace('"strides": [1, 2] }', '"strides": [1, 2], "blockWidths": [[[8]], [[8, 8]]] }'),
    [`${FILE}:6:89: error NS211: stages.blockWidths[0][0] lists 1 width, but a bottleneck block has 2 convolutions before its last; give 2`],
  ],
  [
    'pruned grouped convolutions',
    withLine(5, '  "block": { "type": "bottleneck", "groups": 2, "widthPerGroup": 32 },').replace(
      '"strides": [1, 2] }',
      '"strides": [1, 2], "blockWidths": [[[8, 8]], [[8, 8]]] }',
    ),
    [`${FILE}:6:87: error NS211: stages.blockWidths prunes grouped convolutions (groups 2), which timm's pruned models do not have; use groups 1`],
  ],
  [
    'reduceFirst leaving no channel',
    withLine(5, '  "block": { "type": "basic", "reduceFirst": 32 },'),
    [`${FILE}:5:46: error NS211: block.reduceFirst 32 leaves stage 1 (width 16) a first convolution of 0 channels; lower reduceFirst`],
  ],
  [
    'pruned widths in a list too short for the stages',
    withLine(6, '  "stages": { "widths": [16, 32], "depths": [1, 1], "strides": [1, 2], "outputWidths": [16] },'),
    [`${FILE}:6:88: error NS201: stages.outputWidths has 1 entries but stages.widths has 2; each stage needs one entry in every list`],
  ],
  [
    'GroupNorm groups that do not divide a width',
    withLine(7, '  "head": { "type": "classifier", "classes": 10 }, "groupNorm": { "groups": 3 }'),
    [`${FILE}:7:77: error NS212: groupNorm.groups is 3, but the stem normalises 16 channels, which 3 groups cannot divide evenly`],
  ],
  [
    'stem anti-aliasing without a stem pool',
    withLine(4, '  "stem": { "type": "conv", "width": 16, "kernelSize": 3, "stride": 1, "antiAlias": "blur" },'),
    [`${FILE}:4:85: error NS213: stem.antiAlias moves the stride of the stem pool, but the stem has no pool; set stem.pool to "max" or "conv"`],
  ],
  [
    'anti-aliasing in pre-activation blocks',
    withLine(5, '  "block": { "type": "basic", "preActivation": true, "antiAlias": "blur" },'),
    [
      `${FILE}:5:67: error NS213: block.antiAlias follows a strided convolution's BatchNorm and ReLU, which pre-activation blocks do not have; remove preActivation or antiAlias`,
    ],
  ],
  [
    'anti-aliasing with the stride on the 1×1',
    withLine(5, '  "block": { "type": "bottleneck", "strideOn": "1x1", "antiAlias": "avg" },'),
    [`${FILE}:5:48: error NS213: block.antiAlias carries the stride of the 3×3 convolution, but strideOn puts it on the 1×1; remove strideOn`],
  ],
  [
    'anti-aliasing with stride 4',
    withLine(5, '  "block": { "type": "basic", "antiAlias": "blur" },').replace('"strides": [1, 2]', '"strides": [1, 4]'),
    [`${FILE}:6:68: error NS213: stage 2 has stride 4, but block.antiAlias carries strides of 2 in undilated stages only`],
  ],
  [
    'average-pool anti-aliasing on an odd feature map',
    withLine(3, '  "input": { "height": 33, "width": 32, "channels": 3 },').replace('"type": "basic" }', '"type": "basic", "antiAlias": "avg" }'),
    [
      `${FILE}:6:68: error NS213: stage 2 receives a 33×32 feature map; the 2×2 anti-aliasing pool would drop its odd last row or column, which the shortcut keeps; choose an input whose strided stages see even sizes`,
    ],
  ],
  [
    'a preprocessing with two means for three channels',
    withLine(7, '  "head": { "type": "classifier", "classes": 10 }, "preprocess": { "mean": [0.5, 0.5], "std": [0.2, 0.2, 0.2] }'),
    [`${FILE}:7:76: error NS214: preprocess.mean has 2 entries, but the input has 3 channels; give one per channel`],
  ],
  // Text that would reach generated code
  [
    'a name that would close a comment',
    withLine(2, '  "name": "a*/b",'),
    [`${FILE}:2:11: error NS106: name must start with a letter or digit and contain only letters, digits, '.', '_' or '-', got "a*/b"`],
  ],
  ['an empty name', withLine(2, '  "name": "",'), [`${FILE}:2:11: error NS106: name must not be empty, got ""`]],
  [
    'a name with a path',
    withLine(2, '  "name": "../../x",'),
    [`${FILE}:2:11: error NS106: name must start with a letter or digit and contain only letters, digits, '.', '_' or '-', got "../../x"`],
  ],
];

for (const [title, source, expected] of cases) {
  test(title, () => {
    assert.equal(diagnose(source), expected);
  });
}

test('the base spec of this table is valid', () => {
  assert.equal(diagnose(base), []);
});

test('__proto__ in a spec does not pollute Object.prototype', () => {
  diagnose(withLine(2, '  "name": "tiny", "__proto__": { "polluted": true },'));
  assert.is(({} as Record<string, unknown>).polluted, undefined);
});

test('through the CLI, the whole table is reported at once, exits 1 and writes nothing', () => {
  const root = mkdtempSync(join(tmpdir(), 'netspec-invalid-'));
  mkdirSync(join(root, 'specs'));
  cases.forEach(([, source], i) => writeFileSync(join(root, 'specs', `case${String(i).padStart(2, '0')}.json`), source));
  // A single error anywhere in the batch must stop every spec, warnings-only ones included.
  const run = spawnSync(process.execPath, [resolve('dist', 'cli.js'), 'compile'], { cwd: root, encoding: 'utf8' });
  assert.is(run.status, 1);
  const reported = run.stderr.split('\n');
  cases.forEach(([title, , expected], i) => {
    for (const line of expected) {
      const renamed = line.replace(FILE, `specs/case${String(i).padStart(2, '0')}.json`);
      assert.ok(reported.includes(renamed), `${title}: ${renamed}`);
    }
  });
  assert.not.match(run.stderr, /\n\s+at /);
  assert.equal(readdirSync(root), ['specs']);
  rmSync(root, { recursive: true });
});

test('the table covers at least 25 invalid specs', () => {
  const invalid = cases.filter(([, , expected]) => expected.some((line) => line.includes(': error ')));
  assert.ok(invalid.length >= 25, `${invalid.length} cases`);
});

test('diagnostics cost the same each however many there are: an unknown key excerpts nothing, an excerpt reads only its own stretch', () => {
  // 20,000 unknown keys once took 44 s: each diagnostic collapsed the whitespace of the whole spec to quote 40 characters.
  const keys = Array.from({ length: 20000 }, (_, i) => `"extra${i}": ${i}`).join(',\n  ');
  const parsed = read(FILE, new TextEncoder().encode(`${base.slice(0, base.lastIndexOf('}'))},\n  ${keys}\n}\n`));
  let excerpts = 0;
  const counted = { ...parsed.document!, sourceText: (pointer: string) => (excerpts++, parsed.document!.sourceText(pointer)) };
  const { diagnostics } = validate(counted);
  assert.is(diagnostics.length, 20000);
  assert.is(excerpts, 0);
  assert.is(diagnostics[19999]!.message, 'unknown field "extra19999" in the spec');
  // The whole spec as an excerpt: its first 37 characters with whitespace collapsed, then an ellipsis.
  assert.is(parsed.document!.sourceText(''), `${base.replace(/\s+/g, ' ').slice(0, 37)}...`);
});

test.run();
