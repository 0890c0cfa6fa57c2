import { diagnose, type Diagnostic, type DiagnosticCode } from '../errors/diagnostics.js';
import { outputSize, STEM_POOL } from '../ops/window.js';
import { bottleneckWidth, DEFAULT_MAX_SIZE, normalizeBlock, normalizeStem, stageDilations, stageIndexOf } from './normalize.js';
import type { ValidSpec } from './validate.js';

type Spec = ValidSpec['spec'];

interface Finding {
  readonly pointer: string;
  readonly message: string;
}

interface Rule {
  readonly code: DiagnosticCode;
  /** The rule, stated as the sentence a user reads when it is broken. */
  readonly sentence: string;
  /** Warnings do not stop compilation. */
  readonly severity: 'error' | 'warning';
  readonly check: (spec: Spec) => Finding[];
}

const stageLists = ['depths', 'strides', 'dilate', 'blockWidths', 'outputWidths'] as const;

/** Each stage's stride and dilations after torchvision's stride-to-dilation replacement. */
const dilationsOf = (spec: Spec) => stageDilations(spec.stages.strides.map((stride, i) => ({ stride, dilate: spec.stages.dilate?.[i] ?? false })));

/** Stage indices whose stride becomes dilation. */
const dilatedStages = (spec: Spec) => spec.stages.widths.flatMap((_, i) => (spec.stages.dilate?.[i] ? [i] : []));

/** How messages name each head. */
const HEAD_NAMES: Readonly<Record<Spec['head']['type'], string>> = {
  classifier: 'a classifier head',
  pool: 'a pool head',
  none: 'a backbone without a head',
  fcn: 'an FCN head',
  deeplabv3: 'a DeepLabV3 head',
  retinanet: 'a RetinaNet head',
};

/** The semantic rules that the schema cannot express, one entry each. They run on a schema-valid spec. */
export const rules: readonly Rule[] = [
  {
    code: 'NS201',
    sentence: 'the stage lists have one entry per stage',
    severity: 'error',
    check: ({ stages }) =>
      stageLists
        .filter((list) => stages[list] !== undefined && stages[list].length !== stages.widths.length)
        .map((list) => ({
          pointer: `/stages/${list}`,
          message: `stages.${list} has ${stages[list]!.length} entries but stages.widths has ${stages.widths.length}; each stage needs one entry in every list`,
        })),
  },
  {
    code: 'NS202',
    sentence: 'every stride meets a feature map at least as large as the stride',
    severity: 'error',
    check: (spec) => {
      // An open size is checked on the lowered graph, where the smallest size every layer takes is found.
      if (spec.input.height === undefined || spec.input.width === undefined) return [];
      const findings: Finding[] = [];
      let size = [spec.input.height, spec.input.width] as const;
      const downsample = (pointer: string, what: string, kernel: number, stride: number, padding: number) => {
        if (stride > 1 && Math.min(...size) < stride) {
          findings.push({
            pointer,
            message: `${what} has stride ${stride} but receives a ${size[0]}×${size[1]} feature map, which it cannot reduce; the ${spec.input.height}×${spec.input.width} input is too small for this model's strides`,
          });
        }
        size = [outputSize(size[0], kernel, stride, padding), outputSize(size[1], kernel, stride, padding)];
      };
      const stem = normalizeStem(spec.stem);
      const kernel = stem.type === 'conv' ? stem.kernelSize : 3;
      downsample('/stem/stride', 'the stem convolution', kernel, stem.stride, Math.floor(kernel / 2));
      // An average-pool that carries the stride (timm's anti-aliasing) pools 2×2 windows without padding.
      if (stem.pool !== 'none' && stem.antiAlias === 'avg') downsample('/stem/pool', 'the stem average-pool', STEM_POOL.stride, STEM_POOL.stride, 0);
      else if (stem.pool !== 'none')
        downsample(
          '/stem/pool',
          stem.pool === 'max' ? 'the stem max-pool' : "the stem pool's convolution",
          STEM_POOL.size,
          STEM_POOL.stride,
          STEM_POOL.padding,
        );
      const averaged = normalizeBlock(spec.block).antiAlias === 'avg';
      dilationsOf(spec).forEach(({ stride }, i) =>
        averaged && stride === 2
          ? downsample(`/stages/strides/${i}`, `stage ${i + 1}`, 2, 2, 0)
          : downsample(`/stages/strides/${i}`, `stage ${i + 1}`, 3, stride, 1),
      );
      return findings;
    },
  },
  {
    code: 'NS203',
    sentence: "groups divide every stage's bottleneck width evenly",
    severity: 'error',
    check: (spec) => {
      const block = normalizeBlock(spec.block);
      if (block.type !== 'bottleneck') return [];
      return spec.stages.widths.flatMap((width, i) => {
        const perGroup = (width * block.widthPerGroup) / 64;
        if (Number.isInteger(perGroup) && perGroup >= 1) return [];
        return [
          {
            pointer: `/stages/widths/${i}`,
            message: `stage ${i + 1} width ${width} gives ${width}·${block.widthPerGroup}/64 = ${+perGroup.toFixed(3)} channels per group, so its ${block.groups} group${block.groups === 1 ? '' : 's'} cannot divide the bottleneck width evenly; make width × widthPerGroup a multiple of 64`,
          },
        ];
      });
    },
  },
  {
    code: 'NS204',
    sentence: 'only bottleneck blocks are dilated',
    severity: 'error',
    check: (spec) =>
      spec.block.type !== 'basic'
        ? []
        : dilatedStages(spec).map((i) => ({
            pointer: `/stages/dilate/${i}`,
            message: `stage ${i + 1} is dilated, but basic blocks do not support dilation (nor do torchvision's); use bottleneck blocks`,
          })),
  },
  {
    code: 'NS205',
    sentence: 'dilated stages come last',
    severity: 'error',
    check: (spec) => {
      const dilated = dilatedStages(spec);
      const first = dilated[0];
      if (first === undefined) return [];
      return spec.stages.widths.flatMap((_, i) =>
        i > first && !spec.stages.dilate?.[i]
          ? [
              {
                pointer: `/stages/dilate/${i}`,
                message: `stage ${i + 1} is not dilated but stage ${first + 1} is; dilation carries over to later stages, which would then need a strided dilated convolution, so dilate every stage after the first dilated one`,
              },
            ]
          : [],
      );
    },
  },
  {
    code: 'NS206',
    sentence: 'outputs name stages that exist',
    severity: 'error',
    check: (spec) => {
      const last = spec.stages.widths.length + 1;
      return (spec.outputs ?? []).flatMap((name, i) =>
        Number(name.slice(1)) > last
          ? [{ pointer: `/outputs/${i}`, message: `outputs[${i}] is "${name}", but the model has ${last - 1} stage${last === 2 ? '' : 's'} (C2–C${last})` }]
          : [],
      );
    },
  },
  {
    code: 'NS207',
    sentence: "the avgPool shortcut's 2×2 pool carries strides 1 and 2 only",
    severity: 'error',
    check: (spec) =>
      normalizeBlock(spec.block).shortcut !== 'avgPool'
        ? []
        : spec.stages.strides.flatMap((stride, i) =>
            stride > 2 && !spec.stages.dilate?.[i]
              ? [
                  {
                    pointer: `/stages/strides/${i}`,
                    message: `stage ${i + 1} has stride ${stride}, but the avgPool shortcut pools 2×2 and supports strides 1 and 2`,
                  },
                ]
              : [],
          ),
  },
  {
    code: 'NS208',
    sentence: 'a neck or head reads stages the backbone has',
    severity: 'error',
    check: (spec) => {
      const stages = spec.stages.widths.length;
      const findings = (spec.neck?.from ?? []).flatMap((name, i) =>
        stageIndexOf(name) >= stages
          ? [
              {
                pointer: `/neck/from/${i}`,
                message: `neck.from[${i}] is "${name}", but the backbone has ${stages} stage${stages === 1 ? '' : 's'} (C2–C${stages + 1})`,
              },
            ]
          : [],
      );
      const { head } = spec;
      if ((head.type === 'fcn' || head.type === 'deeplabv3') && head.aux && stages < 2) {
        findings.push({ pointer: '/head/aux', message: `the auxiliary head reads the stage before the last, but the backbone has only ${stages} stage` });
      }
      return findings;
    },
  },
  {
    code: 'NS209',
    sentence: 'a RetinaNet head reads an FPN neck, and segmentation heads read the backbone alone',
    severity: 'error',
    check: ({ head, neck, outputs }) => {
      const findings: Finding[] = [];
      if (head.type === 'retinanet' && !neck)
        findings.push({
          pointer: '/head/type',
          message: 'a RetinaNet head reads the levels of a feature pyramid; add "neck": { "type": "fpn", "from": ["C3", "C4", "C5"], "extra": "p6p7" }',
        });
      const headName = HEAD_NAMES[head.type];
      if (neck && head.type !== 'retinanet' && head.type !== 'none')
        findings.push({
          pointer: '/neck',
          message: `${headName} reads the last stage, not a feature pyramid; remove the neck, or use a "retinanet" or "none" head`,
        });
      const dense = neck !== undefined || ['fcn', 'deeplabv3', 'retinanet'].includes(head.type);
      if (dense && outputs)
        findings.push({
          pointer: '/outputs',
          message: `outputs selects stage features, but a model with ${neck && head.type === 'none' ? 'a neck' : headName} returns its own outputs; remove outputs`,
        });
      return findings;
    },
  },
  {
    code: 'NS210',
    sentence: 'the anchors have one entry per pyramid level and one count of anchors per location',
    severity: 'error',
    check: ({ head, neck }) => {
      if (head.type !== 'retinanet' || !head.anchors || !neck) return [];
      const levels = neck.from.length + ({ pool: 1, p6p7: 2, none: 0 } as const)[neck.extra ?? 'pool'];
      const { sizes, ratios } = head.anchors;
      if (sizes.length !== levels) {
        return [
          {
            pointer: '/head/anchors/sizes',
            message: `anchors.sizes has ${sizes.length} entr${sizes.length === 1 ? 'y' : 'ies'}, but the pyramid has ${levels} level${levels === 1 ? '' : 's'} (${neck.from.length} from the backbone, ${levels - neck.from.length} extra); give one list of sizes per level`,
          },
        ];
      }
      if (ratios.length !== 1 && ratios.length !== levels) {
        return [
          {
            pointer: '/head/anchors/ratios',
            message: `anchors.ratios has ${ratios.length} entries; give one list of ratios for every level, or one per level (${levels})`,
          },
        ];
      }
      const perLocation = sizes.map((s, i) => s.length * ratios[ratios.length === 1 ? 0 : i]!.length);
      const odd = perLocation.findIndex((n) => n !== perLocation[0]);
      return odd < 0
        ? []
        : [
            {
              pointer: `/head/anchors/sizes/${odd}`,
              message: `level ${odd + 1} has ${perLocation[odd]} anchors per location (sizes × ratios) but level 1 has ${perLocation[0]}; the head's towers are shared by every level, so each level needs the same count`,
            },
          ];
    },
  },
  {
    code: 'NS211',
    sentence: 'per-block widths give each block of a stage its convolutions, and every convolution at least one channel per group',
    severity: 'error',
    check: (spec) => [...prunedWidthFindings(spec), ...firstWidthFindings(spec)],
  },
  {
    code: 'NS212',
    sentence: 'GroupNorm groups divide every normalised width',
    severity: 'error',
    check: (spec) => {
      const groups = spec.groupNorm?.groups;
      if (groups === undefined) return [];
      const odd = normalisedWidths(spec).find(({ width }) => width % groups !== 0);
      return odd
        ? [
            {
              pointer: '/groupNorm/groups',
              message: `groupNorm.groups is ${groups}, but ${odd.where} normalises ${odd.width} channels, which ${groups} groups cannot divide evenly`,
            },
          ]
        : [];
    },
  },
  {
    code: 'NS213',
    sentence: 'anti-aliasing is placed where timm places it, on a stride it can carry',
    severity: 'error',
    check: (spec) => {
      const findings: Finding[] = [];
      const stem = normalizeStem(spec.stem);
      if (stem.antiAlias !== 'none' && stem.pool === 'none')
        findings.push({
          pointer: '/stem/antiAlias',
          message: 'stem.antiAlias moves the stride of the stem pool, but the stem has no pool; set stem.pool to "max" or "conv"',
        });
      const block = normalizeBlock(spec.block);
      if (block.antiAlias === 'none') return findings;
      if (block.preActivation)
        findings.push({
          pointer: '/block/antiAlias',
          message:
            "block.antiAlias follows a strided convolution's BatchNorm and ReLU, which pre-activation blocks do not have; remove preActivation or antiAlias",
        });
      if (block.type === 'bottleneck' && block.strideOn === '1x1')
        findings.push({
          pointer: '/block/strideOn',
          message: 'block.antiAlias carries the stride of the 3×3 convolution, but strideOn puts it on the 1×1; remove strideOn',
        });
      dilationsOf(spec).forEach(({ stride, rest }, i) => {
        if (stride > 2 || rest > 1)
          findings.push({
            pointer: `/stages/strides/${i}`,
            message: `stage ${i + 1} has ${rest > 1 ? `dilation ${rest}` : `stride ${stride}`}, but block.antiAlias carries strides of 2 in undilated stages only`,
          });
      });
      if (block.antiAlias === 'avg') findings.push(...oddAveragedStages(spec));
      return findings;
    },
  },
  {
    code: 'NS214',
    sentence: 'the preprocessing gives one mean and one deviation per input channel',
    severity: 'error',
    check: ({ preprocess, input }) =>
      (['mean', 'std'] as const).flatMap((list) =>
        preprocess && preprocess[list].length !== input.channels
          ? [
              {
                pointer: `/preprocess/${list}`,
                message: `preprocess.${list} has ${preprocess[list].length} entr${preprocess[list].length === 1 ? 'y' : 'ies'}, but the input has ${input.channels} channel${input.channels === 1 ? '' : 's'}; give one per channel`,
              },
            ]
          : [],
      ),
  },
  {
    code: 'NS215',
    sentence: 'size bounds are given for an open size, the smallest no larger than the largest',
    severity: 'error',
    check: ({ input }) => {
      const bounds = (['minSize', 'maxSize', 'sizeMultiple'] as const).filter((field) => input[field] !== undefined);
      if (input.height !== undefined)
        return bounds.map((field) => ({
          pointer: `/input/${field}`,
          message: `input.${field} bounds an open size, but this spec fixes its input at ${input.height}×${input.width}; leave out height and width to open it`,
        }));
      const { minSize, maxSize = DEFAULT_MAX_SIZE, sizeMultiple = 1 } = input;
      if (minSize !== undefined && minSize > maxSize)
        return [{ pointer: '/input/minSize', message: `input.minSize ${minSize} is above input.maxSize ${maxSize}` }];
      if (Math.floor(maxSize / sizeMultiple) * sizeMultiple < (minSize ?? 1))
        return [{ pointer: '/input/sizeMultiple', message: `no multiple of input.sizeMultiple ${sizeMultiple} lies between ${minSize ?? 1} and ${maxSize}` }];
      return [];
    },
  },
  {
    code: 'NS501',
    sentence: 'TensorFlow.js can train every layer',
    severity: 'warning',
    check: (spec) => {
      const dilations = dilationsOf(spec);
      const first = dilations.findIndex((d) => d.rest > 1);
      if (first < 0 || spec.block.type === 'basic') return [];
      return [
        {
          pointer: `/stages/dilate/${first}`,
          message: `stage ${first + 1} uses dilation ${dilations[first]!.rest}; only netspec's wasm kernels compute gradients of dilated convolutions in TensorFlow.js, so this model trains on the wasm backend only`,
        },
      ];
    },
  },
  {
    code: 'NS502',
    sentence: "DeepLabV3 reads a dilated backbone, as torchvision's does",
    severity: 'warning',
    check: (spec) =>
      spec.head.type !== 'deeplabv3' || spec.stages.dilate?.some(Boolean)
        ? []
        : [
            {
              pointer: '/head/type',
              message:
                'a DeepLabV3 head on an undilated backbone sees the last stage at its full stride; torchvision dilates C4 and C5 (stages.dilate [false, false, true, true]) so that ASPP sees output stride 8',
            },
          ],
  },
];

/**
 * The 2×2 anti-aliasing average-pool drops an odd last row or column that the shortcut's strided convolution or
 * ceil-mode pool keeps, so the two sides could not be added (timm's resnetaa models fail on such inputs too).
 */
function oddAveragedStages(spec: Spec): Finding[] {
  if (spec.input.height === undefined || spec.input.width === undefined) return [];
  const stem = normalizeStem(spec.stem);
  const kernel = stem.type === 'conv' ? stem.kernelSize : 3;
  let size = [spec.input.height, spec.input.width].map((n) => outputSize(n, kernel, stem.stride, Math.floor(kernel / 2)));
  if (stem.pool !== 'none')
    size = size.map((n) => (stem.antiAlias === 'avg' ? Math.floor(n / 2) : outputSize(n, STEM_POOL.size, STEM_POOL.stride, STEM_POOL.padding)));
  return dilationsOf(spec).flatMap(({ stride }, i) => {
    if (stride !== 2) return [];
    const odd = size.some((n) => n % 2 === 1);
    const finding = {
      pointer: `/stages/strides/${i}`,
      message: `stage ${i + 1} receives a ${size[0]}×${size[1]} feature map; the 2×2 anti-aliasing pool would drop its odd last row or column, which the shortcut keeps; choose an input whose strided stages see even sizes`,
    };
    size = size.map((n) => Math.floor(n / 2));
    return odd ? [finding] : [];
  });
}

/** The widths a block's convolutions but the last would have unpruned: the first reduced by reduceFirst, then the 3×3's. */
function innerWidths(spec: Spec, stage: number): number[] {
  const block = normalizeBlock(spec.block);
  const width = spec.stages.widths[stage]!;
  if (block.type === 'basic') return [Math.floor(width / block.reduceFirst)];
  const inner = bottleneckWidth(width, block);
  return [Math.floor(inner / block.reduceFirst), inner];
}

/** Pruned widths: one entry per block, each listing the widths of the block's convolutions but the last, with groups 1. */
function prunedWidthFindings(spec: Spec): Finding[] {
  const { blockWidths } = spec.stages;
  if (!blockWidths) return [];
  const block = normalizeBlock(spec.block);
  if (block.groups > 1)
    return [
      {
        pointer: '/stages/blockWidths',
        message: `stages.blockWidths prunes grouped convolutions (groups ${block.groups}), which timm's pruned models do not have; use groups 1`,
      },
    ];
  const convolutions = block.type === 'basic' ? 1 : 2;
  return blockWidths.flatMap((blocks, s) => {
    const depth = spec.stages.depths[s];
    if (depth !== undefined && blocks.length !== depth)
      return [
        {
          pointer: `/stages/blockWidths/${s}`,
          message: `stages.blockWidths[${s}] lists ${blocks.length} blocks, but stage ${s + 1} has ${depth}; give one entry per block`,
        },
      ];
    return blocks.flatMap((widths, b) =>
      widths.length === convolutions
        ? []
        : [
            {
              pointer: `/stages/blockWidths/${s}/${b}`,
              message: `stages.blockWidths[${s}][${b}] lists ${widths.length} width${widths.length === 1 ? '' : 's'}, but a ${block.type} block has ${convolutions} convolution${convolutions === 1 ? '' : 's'} before its last; give ${convolutions}`,
            },
          ],
    );
  });
}

/** reduceFirst must leave the first convolution at least one channel, and as many as the 3×3's groups need. */
function firstWidthFindings(spec: Spec): Finding[] {
  const block = normalizeBlock(spec.block);
  if (block.reduceFirst === 1 || spec.stages.blockWidths) return [];
  return spec.stages.widths.flatMap((width, s) => {
    const first = innerWidths(spec, s)[0]!;
    const groups = block.type === 'bottleneck' ? block.groups : 1;
    if (first >= 1 && first % groups === 0) return [];
    const why = first < 1 ? '' : `, which its ${groups} groups cannot divide evenly`;
    return [
      {
        pointer: '/block/reduceFirst',
        message: `block.reduceFirst ${block.reduceFirst} leaves stage ${s + 1} (width ${width}) a first convolution of ${first} channels${why}; lower reduceFirst`,
      },
    ];
  });
}

/** Every width a normalisation layer sees, and where: stem, blocks, and the segmentation heads' own. */
function normalisedWidths(spec: Spec): { width: number; where: string }[] {
  const stem = normalizeStem(spec.stem);
  const block = normalizeBlock(spec.block);
  const widths = [stem.width, ...(stem.type === 'deep' ? stem.midWidths : [])].map((width) => ({ width, where: 'the stem' }));
  const outputs = spec.stages.widths.map((width, s) => spec.stages.outputWidths?.[s] ?? width * block.expansion);
  spec.stages.widths.forEach((_, s) => {
    const where = `stage ${s + 1}`;
    const inner = spec.stages.blockWidths?.[s]?.flat() ?? innerWidths(spec, s);
    widths.push(...[...inner, outputs[s]!].map((width) => ({ width, where })));
  });
  // FCNHead normalises a quarter of the stage it reads, DeepLabHead its 256 channels.
  const { head } = spec;
  if (head.type === 'deeplabv3') widths.push({ width: 256, where: 'the DeepLabV3 head' });
  if (head.type === 'fcn') widths.push({ width: Math.floor(outputs.at(-1)! / 4), where: 'the FCN head' });
  if ((head.type === 'fcn' || head.type === 'deeplabv3') && head.aux && outputs.length > 1)
    widths.push({ width: Math.floor(outputs.at(-2)! / 4), where: 'the auxiliary head' });
  return widths;
}

/** Applies every rule and positions each finding at the field it names. */
export function checkRules({ document, spec }: ValidSpec): Diagnostic[] {
  return rules.flatMap((rule) => rule.check(spec).map((finding) => diagnose(document, rule.code, finding.pointer, finding.message, 'value', rule.severity)));
}
