// The --data values of annotated datasets: parsed by the one --data parser, and opened for the task they serve.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { UsageError } from '../src/commands/command-line.js';
import { dataSourceName, parseDataSource } from '../src/commands/data-source.js';
import { openDetectionSource, openSegmentationSource, parseAnnotatedSource } from '../src/data/annotated-source.js';
import { refusal } from './support/data-faults.js';

test('coco:, voc: and masks: values name their files; other values are not annotated sources', () => {
  assert.equal(parseAnnotatedSource('coco:annotations/instances_val2017.json'), {
    kind: 'coco',
    annotations: 'annotations/instances_val2017.json',
    imagesDir: undefined,
  });
  // The annotations file ends at ".json"; the images folder after it may hold colons of its own.
  assert.equal(parseAnnotatedSource('coco:a.JSON:/data/x:y'), { kind: 'coco', annotations: 'a.JSON', imagesDir: '/data/x:y' });
  assert.equal(parseAnnotatedSource('voc:VOCdevkit/VOC2012'), { kind: 'voc', dir: 'VOCdevkit/VOC2012' });
  assert.equal(parseAnnotatedSource('masks:data/roads'), { kind: 'masks', dir: 'data/roads' });
  for (const other of ['fashion-mnist', 'cifar10:x', 'images/', 'cocoa:x.json']) assert.is(parseAnnotatedSource(other), undefined);
  assert.equal(parseAnnotatedSource('voc:'), { problem: "voc: needs the dataset's folder after the colon" });
  assert.equal(parseAnnotatedSource('coco:a.txt'), {
    problem: 'coco: needs the annotations file, ending in .json, after the colon (coco:ANNOTATIONS.json or coco:ANNOTATIONS.json:IMAGES_DIR)',
  });
  assert.equal(parseAnnotatedSource('coco:a.json:'), {
    problem: 'coco:a.json: needs the images folder after the second colon, or no second colon to find it beside the file',
  });
});

test('the one --data parser takes them beside the built-in sets, CIFAR and image folders', () => {
  assert.equal(parseDataSource('voc:VOC2012', 'eval'), { kind: 'annotated', source: { kind: 'voc', dir: 'VOC2012' } });
  assert.is(dataSourceName(parseDataSource('coco:a.json:imgs', 'eval')), 'coco:a.json:imgs');
  assert.equal(parseDataSource('cifar10:x', 'eval'), { kind: 'cifar', variant: 'cifar10', dir: 'x' });
  assert.equal(parseDataSource('pictures', 'eval'), { kind: 'folder', dir: 'pictures' });
  assert.throws(
    () => parseDataSource('masks:', 'eval'),
    (error: Error) => error instanceof UsageError && error.message === "--data masks: needs the dataset's folder after the colon",
  );
});

test('each source opens for the tasks it serves, and says which it serves otherwise', () => {
  assert.is(
    refusal(() => openDetectionSource({ kind: 'masks', dir: 'roads' })),
    'masks:roads: holds masks for segmentation, not boxes; detection data is coco:ANNOTATIONS.json or voc:DIR',
  );
  assert.is(
    refusal(() => openSegmentationSource({ kind: 'coco', annotations: 'a.json', imagesDir: undefined })),
    'coco:a.json: is read for detection (boxes); segmentation data is voc:DIR or masks:DIR',
  );
  assert.is(
    refusal(() => openDetectionSource({ kind: 'coco', annotations: 'a.json', imagesDir: undefined }, { split: 'val' })),
    "coco:a.json: is one split already (COCO has one annotations file a split); name that split's file instead of choosing a split",
  );
});

test.run();
