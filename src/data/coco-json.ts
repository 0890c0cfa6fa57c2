/**
 * A COCO annotations file read as a stream into compact columns: the file (COCO's train2017 instances are 448 MB)
 * is tokenized a megabyte at a time by @streamparser/json, each image, annotation and category record is checked
 * and kept as numbers in typed arrays, and everything else (segmentations, captions, licenses) is dropped as it
 * passes. Every fault is one DataFileError naming the file and the record by its JSON path.
 */
import { Tokenizer, TokenParser, TokenType, type ParsedElementInfo, type ParsedTokenInfo } from '@streamparser/json';
import { readBoundedChunks } from '../files/read-bounded.js';
import type { Category } from './dataset.js';
import { printable, quoted } from '../files/display-path.js';
import { dataFault } from './dataset-files.js';
import { Float64Column, Uint32Column, Uint8Column } from './columns.js';

/**
 * The largest annotations file read: 2 GiB, above LVIS (1.1 GB) and four times COCO's train2017 instances. The
 * columns kept take about 60 bytes an annotation, far less than the file's bytes.
 */
export const COCO_JSON_LIMIT = 2 * 2 ** 30;
const CHUNK_BYTES = 2 ** 20;

/** The records of the three lists, in the file's order. */
export interface CocoFile {
  readonly images: {
    readonly count: number;
    readonly ids: Float64Array;
    readonly widths: Uint32Array;
    readonly heights: Uint32Array;
    readonly fileNames: readonly string[];
  };
  readonly annotations: {
    readonly count: number;
    readonly ids: Float64Array;
    readonly imageIds: Float64Array;
    readonly categoryIds: Float64Array;
    /** [x, y, width, height] per annotation. */
    readonly boxes: Float64Array;
    readonly areas: Float64Array;
    readonly crowd: Uint8Array;
  };
  readonly categories: readonly Category[];
}

type ListName = 'images' | 'annotations' | 'categories';
const LISTS: readonly ListName[] = ['images', 'annotations', 'categories'];
type JsonRecord = Readonly<Record<string, unknown>>;
type Fail = (path: string, problem: string) => never;

/** Reads and checks the file; the first fault throws. Records are checked field by field, not cross-checked. */
export function readCocoFile(path: string, limit = COCO_JSON_LIMIT): CocoFile {
  const fail: Fail = (at, problem) => {
    throw dataFault(path, `${at} ${problem}`);
  };
  const records = new CocoRecords(fail);
  const shape = new TopLevelShape(fail);
  const tokenizer = new Tokenizer();
  const parser = new TokenParser({ paths: LISTS.map((list) => `$.${list}.*`), keepStack: false });
  let offset = 0;
  tokenizer.onToken = (token: ParsedTokenInfo) => {
    offset = token.offset;
    parser.write(token);
    shape.see(token);
  };
  parser.onValue = ({ value, key }: ParsedElementInfo) => records.add(shape.openList!, key as number, value);
  try {
    const refusal = readBoundedChunks(path, limit, CHUNK_BYTES, (chunk) => tokenizer.write(chunk));
    if (refusal)
      throw dataFault(
        path,
        refusal.kind === 'tooLarge'
          ? `the file is ${refusal.size}, past the limit of ${limit} bytes for annotation files`
          : `cannot be read: ${refusal.reason}`,
      );
    tokenizer.end();
    if (!parser.isEnded) parser.end();
  } catch (error) {
    if (!(error instanceof Error) || error.name === 'DataFileError') throw error;
    throw dataFault(path, `is not valid JSON ${jsonFault(error, offset)}`);
  }
  shape.requireLists();
  return records.finish();
}

/**
 * Where and why the tokenizer or parser stopped, in their own words less their chunk-relative position (the
 * tokenizer's absolute position, else the last token's offset), without the user's text reaching the terminal raw.
 */
function jsonFault(error: Error, lastOffset: number): string {
  if (error instanceof RangeError) return `near byte ${lastOffset}: a value is too long for a JavaScript string`;
  const position = / at chunk position "\d+" \(absolute position "(\d+)"\)/.exec(error.message);
  const reason = error.message.replace(position?.[0] ?? '', '').replace(/\s*Either not all the data was received or the data was invalid\./, '');
  return `at byte ${position?.[1] ?? lastOffset}: ${printable(reason)}`;
}

/** Follows the top level: an object holding images, annotations and categories, each once and each an array. */
class TopLevelShape {
  private depth = 0;
  private key: string | undefined;
  private awaitingValue = false;
  private started = false;
  private readonly seen = new Set<ListName>();
  /** The list whose records are being parsed. */
  openList: ListName | undefined;

  constructor(private readonly fail: Fail) {}

  see({ token, value }: ParsedTokenInfo): void {
    this.started = true;
    if (this.depth === 0 && token !== TokenType.LEFT_BRACE)
      this.fail('$', `is ${describeToken(token)}, not an object holding images, annotations and categories`);
    if (this.depth === 1 && this.awaitingValue) this.valueOf(this.key!, token);
    else if (this.depth === 1 && token === TokenType.STRING) this.key = value as string;
    else if (this.depth === 1 && token === TokenType.COLON) this.awaitingValue = true;
    if (token === TokenType.LEFT_BRACE || token === TokenType.LEFT_BRACKET) this.depth++;
    if (token === TokenType.RIGHT_BRACE || token === TokenType.RIGHT_BRACKET) {
      this.depth--;
      if (this.depth === 1) this.openList = undefined;
    }
  }

  private valueOf(key: string, token: TokenType): void {
    this.awaitingValue = false;
    const list = LISTS.find((name) => name === key);
    if (list === undefined) return;
    if (this.seen.has(list)) this.fail(`$.${list}`, 'appears twice at the top level');
    if (token !== TokenType.LEFT_BRACKET) this.fail(`$.${list}`, `is ${describeToken(token)}, not an array`);
    this.seen.add(list);
    this.openList = list;
  }

  requireLists(): void {
    if (!this.started) this.fail('$', 'is missing: the file holds no JSON value');
    const missing = LISTS.filter((list) => !this.seen.has(list));
    if (missing.length > 0) this.fail('$', `has no ${missing.join(', ')}; a COCO annotations file has images, annotations and categories`);
  }
}

function describeToken(token: TokenType): string {
  switch (token) {
    case TokenType.LEFT_BRACE:
      return 'an object';
    case TokenType.LEFT_BRACKET:
      return 'an array';
    case TokenType.STRING:
      return 'a string';
    case TokenType.NUMBER:
      return 'a number';
    case TokenType.NULL:
      return 'null';
    default:
      return 'a boolean';
  }
}

/** The checked records, kept as columns. */
class CocoRecords {
  private readonly images = { ids: new Float64Column(), widths: new Uint32Column(), heights: new Uint32Column(), fileNames: [] as string[] };
  private readonly annotations = {
    ids: new Float64Column(),
    imageIds: new Float64Column(),
    categoryIds: new Float64Column(),
    boxes: new Float64Column(),
    areas: new Float64Column(),
    crowd: new Uint8Column(),
  };
  private readonly categories: Category[] = [];

  constructor(private readonly fail: Fail) {}

  add(list: ListName, index: number, value: unknown): void {
    const at = `$.${list}[${index}]`;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) this.fail(at, `is ${describeValue(value)}, not an object`);
    const record = value as JsonRecord;
    if (list === 'images') this.addImage(at, record);
    else if (list === 'annotations') this.addAnnotation(at, record);
    else this.categories.push({ id: integer(record, 'id', at, this.fail), name: text(record, 'name', at, this.fail) });
  }

  private addImage(at: string, record: JsonRecord): void {
    this.images.ids.push(integer(record, 'id', at, this.fail));
    this.images.widths.push(positiveInteger(record, 'width', at, this.fail));
    this.images.heights.push(positiveInteger(record, 'height', at, this.fail));
    this.images.fileNames.push(fileName(record, at, this.fail));
  }

  private addAnnotation(at: string, record: JsonRecord): void {
    const a = this.annotations;
    a.ids.push(integer(record, 'id', at, this.fail));
    a.imageIds.push(integer(record, 'image_id', at, this.fail));
    a.categoryIds.push(integer(record, 'category_id', at, this.fail));
    for (const number of box(record, at, this.fail)) a.boxes.push(number);
    const area = member(record, 'area');
    if (typeof area !== 'number' || !Number.isFinite(area) || area < 0) {
      this.fail(
        `${at}.area`,
        area === undefined
          ? 'is missing; pycocotools needs it to sort objects into small, medium and large'
          : `is ${describeValue(area)}; it should be a finite number ≥ 0`,
      );
    }
    a.areas.push(area);
    a.crowd.push(crowd(record, at, this.fail));
  }

  finish(): CocoFile {
    const { images: i, annotations: a } = this;
    return {
      images: { count: i.fileNames.length, ids: i.ids.finish(), widths: i.widths.finish(), heights: i.heights.finish(), fileNames: i.fileNames },
      annotations: {
        count: a.crowd.length,
        ids: a.ids.finish(),
        imageIds: a.imageIds.finish(),
        categoryIds: a.categoryIds.finish(),
        boxes: a.boxes.finish(),
        areas: a.areas.finish(),
        crowd: a.crowd.finish(),
      },
      categories: this.categories,
    };
  }
}

/** A record's own member (never an inherited one such as `constructor`). */
function member(record: JsonRecord, key: string): unknown {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

function integer(record: JsonRecord, key: string, at: string, fail: Fail): number {
  const value = member(record, key);
  if (Number.isSafeInteger(value)) return value as number;
  return fail(`${at}.${key}`, value === undefined ? 'is missing' : `is ${describeValue(value)}; it should be an integer`);
}

function positiveInteger(record: JsonRecord, key: string, at: string, fail: Fail): number {
  const value = member(record, key);
  if (Number.isSafeInteger(value) && (value as number) > 0 && (value as number) < 2 ** 32) return value as number;
  return fail(`${at}.${key}`, value === undefined ? 'is missing' : `is ${describeValue(value)}; it should be a whole number of pixels ≥ 1`);
}

function text(record: JsonRecord, key: string, at: string, fail: Fail): string {
  const value = member(record, key);
  if (typeof value === 'string') return value;
  return fail(`${at}.${key}`, value === undefined ? 'is missing' : `is ${describeValue(value)}; it should be a string`);
}

/** A relative path below the images folder: no absolute path, no `..`, no NUL, nothing empty. */
function fileName(record: JsonRecord, at: string, fail: Fail): string {
  const name = text(record, 'file_name', at, fail);
  const parts = name.split(/[\\/]/);
  if (name === '' || name.includes('\0') || /^([\\/]|[A-Za-z]:)/.test(name) || parts.includes('..')) {
    fail(`${at}.file_name`, `is ${quoted(name)}; it should name a file inside the images folder`);
  }
  return name;
}

function box(record: JsonRecord, at: string, fail: Fail): readonly number[] {
  const value = member(record, 'bbox');
  if (Array.isArray(value) && value.length === 4 && value.every((v) => typeof v === 'number' && Number.isFinite(v))) return value as number[];
  return fail(`${at}.bbox`, value === undefined ? 'is missing' : `is ${describeValue(value)}; it should be [x, y, width, height], four finite numbers`);
}

/** COCO's iscrowd: 0 or 1 (false or true), 0 when absent as pycocotools takes it. */
function crowd(record: JsonRecord, at: string, fail: Fail): number {
  const value = member(record, 'iscrowd');
  if (value === undefined || value === 0 || value === false) return 0;
  if (value === 1 || value === true) return 1;
  return fail(`${at}.iscrowd`, `is ${describeValue(value)}; it should be 0 or 1`);
}

/** A value for a message: short JSON, the user's text escaped. */
function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return `the string ${quoted(value)}`;
  if (Array.isArray(value))
    return value.length > 6
      ? `an array of ${value.length} items`
      : `[${value.map((v) => (typeof v === 'string' ? quoted(v) : typeof v === 'object' && v !== null ? '…' : String(v))).join(', ')}]`;
  if (typeof value === 'object') return 'an object';
  return String(value);
}
