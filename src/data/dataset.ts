/**
 * The annotated datasets that `eval` and `train` read, whatever their layout (COCO JSON, Pascal VOC folders, folders
 * of images and masks): a list of images whose names, sizes and annotations are known without decoding anything,
 * and whose pixels are decoded only when one image is asked for, so a dataset of COCO's size streams in bounded
 * memory.
 */
import type { Pixels } from '../runtime/images/pixels.js';

/** The mask value that marks pixels no class is scored on (VOC's object borders and void regions). */
export const IGNORE_INDEX = 255;

/** An image as decoded: 3 bytes a pixel (RGB), row by row, as torchvision's datasets give it after `convert('RGB')`. */
export interface RgbImage extends Pixels {
  readonly channels: 3;
}

/** A category as the dataset numbers and names it. */
export interface Category {
  /** COCO's `category_id`; in VOC layouts, the class's value in the masks (VOC's aeroplane is 1, after background). */
  readonly id: number;
  readonly name: string;
}

/** One image, known without decoding it. */
export interface DatasetImage {
  /** COCO's image id; in VOC and mask folders, the image's 1-based position in the dataset. */
  readonly id: number;
  /** COCO's `file_name`; in VOC and mask folders, the file's stem (`2008_000008`). */
  readonly name: string;
  /** Where the image file is. */
  readonly path: string;
  /** The size that the annotations state (COCO's image record, VOC's `<size>`); undefined where they state none. */
  readonly width: number | undefined;
  readonly height: number | undefined;
}

/**
 * The objects of one image in the annotation file's order, as parallel arrays (four numbers an object for boxes).
 * Every box is [x, y, width, height] in pixels of the image as stored, x and y of its top-left corner counted from
 * 0: COCO's `bbox` convention, which VOC boxes are converted to.
 */
export interface DetectionObjects {
  readonly count: number;
  readonly boxes: Float64Array;
  /** The dataset's category id of each object. */
  readonly categoryIds: Float64Array;
  /** Each object's position in the dataset's `categories` (which are sorted by id). */
  readonly labels: Int32Array;
  /** COCO's `area` (the segmentation's, which decides small, medium and large); for VOC, the box's width × height. */
  readonly areas: Float64Array;
  /** 1 for COCO's crowd regions (`iscrowd`), which evaluation matches but never counts as missed. */
  readonly crowd: Uint8Array;
  /** 1 for VOC's `difficult` objects, which VOC's mAP ignores. */
  readonly difficult: Uint8Array;
  /** COCO's annotation id; for VOC, a running number over the dataset from 1. */
  readonly annotationIds: Float64Array;
}

/** What every layout gives: images by position (0 to length − 1), each decoded on request. */
export interface AnnotatedDataset<Image extends DatasetImage, Sample> {
  /** The data source as the user named it (`coco:annotations/instances_val2017.json`), for messages. */
  readonly source: string;
  readonly length: number;
  /** Image `index`'s name, path and stated size, without reading the image. */
  image(index: number): Image;
  /** Reads and decodes image `index` with its annotations; a fault of its files throws a one-line DataFileError. */
  load(index: number): Promise<Sample>;
  /** What was kept though doubtful (boxes of no size, boxes past their image), one line each, for the caller to print. */
  readonly warnings: readonly string[];
}

export interface DetectionSample {
  readonly image: DatasetImage;
  readonly pixels: RgbImage;
  readonly objects: DetectionObjects;
}

export interface DetectionDataset extends AnnotatedDataset<DatasetImage, DetectionSample> {
  readonly task: 'detection';
  /** Every category the annotations may name, sorted by id. */
  readonly categories: readonly Category[];
  /** Image `index`'s objects, without reading the image. */
  objects(index: number): DetectionObjects;
  /** The position of the image with dataset id `id`, for results files that name images by id. */
  indexOfImageId(id: number): number | undefined;
}

export interface MaskedImage extends DatasetImage {
  /** Where the image's class mask is. */
  readonly maskPath: string;
}

export interface SegmentationSample {
  readonly image: MaskedImage;
  readonly pixels: RgbImage;
  /** The class of each pixel, row by row, the image's size; IGNORE_INDEX where no class is scored. */
  readonly mask: Uint8Array;
}

export interface SegmentationDataset extends AnnotatedDataset<MaskedImage, SegmentationSample> {
  readonly task: 'segmentation';
  /** The class names by mask value (background at 0), or undefined where the layout names none. */
  readonly classNames: readonly string[] | undefined;
}
