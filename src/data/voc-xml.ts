/**
 * One Pascal VOC annotation file (`Annotations/2008_000008.xml`): the image's size and its objects' names, flags and
 * boxes. The XML is parsed by saxes, which never reads external entities; a document type declaration, where
 * entities would be declared, is refused as soon as it is seen, so no entity is ever expanded (only XML's five
 * predefined ones and character references are).
 */
import { SaxesParser } from 'saxes';
import { quoted } from '../files/display-path.js';
import { dataFault, readDataFile } from './dataset-files.js';

/** VOC annotation files are a few kilobytes; a megabyte holds thousands of objects. */
const VOC_XML_LIMIT = 2 ** 20;

export interface VocObject {
  readonly name: string;
  /** VOC's bndbox as written: 1-based pixel numbers, both ends inclusive. */
  readonly xmin: number;
  readonly ymin: number;
  readonly xmax: number;
  readonly ymax: number;
  readonly difficult: boolean;
  readonly truncated: boolean;
}

export interface VocAnnotation {
  /** `<size>`'s width and height, undefined when absent or 0 (as a few published files have them). */
  readonly width: number | undefined;
  readonly height: number | undefined;
  readonly objects: readonly VocObject[];
}

interface Element {
  readonly name: string;
  readonly children: Element[];
  text: string;
}

/** Reads and parses an annotation file; every fault is one DataFileError naming the file (and the object). */
export function readVocAnnotation(path: string): VocAnnotation {
  const root = parseXml(path, readDataFile(path, VOC_XML_LIMIT, 'VOC annotation files'));
  const fail = (problem: string): never => {
    throw dataFault(path, problem);
  };
  if (root.name !== 'annotation') fail(`has the root element <${root.name}>, not <annotation>`);
  const size = child(root, 'size');
  const dimension = (name: string) => {
    const element = size && child(size, name);
    if (element === undefined) return undefined;
    const value = Number(element.text.trim());
    if (!Number.isSafeInteger(value) || value < 0 || !/^\s*\d+\s*$/.test(element.text))
      fail(`has <size><${name}> ${quoted(element.text)}; it should be a whole number of pixels`);
    return value === 0 ? undefined : value;
  };
  const [width, height] = [dimension('width'), dimension('height')];
  const objects = root.children.filter((e) => e.name === 'object').map((element, i) => readObject(element, `object ${i + 1}`, fail));
  return { width, height, objects };
}

function readObject(element: Element, at: string, fail: (problem: string) => never): VocObject {
  const name = child(element, 'name')?.text.trim();
  if (name === undefined || name === '') fail(`${at} has no <name>`);
  const described = `${at} (${quoted(name!)})`;
  const flag = (tag: string) => {
    const text = child(element, tag)?.text.trim();
    if (text === undefined || text === '0' || text === '1') return text === '1';
    return fail(`${described} has <${tag}> ${quoted(text)}; it should be 0 or 1`);
  };
  const box = child(element, 'bndbox');
  if (box === undefined) fail(`${described} has no <bndbox>`);
  const coordinate = (tag: string) => {
    const text = child(box!, tag)?.text.trim();
    if (text === undefined) return fail(`${described} has no <bndbox><${tag}>`);
    if (!/^[-+]?\d+(\.\d+)?$/.test(text)) return fail(`${described} has <${tag}> ${quoted(text)}; it should be a number`);
    return Number(text);
  };
  return {
    name: name!,
    xmin: coordinate('xmin'),
    ymin: coordinate('ymin'),
    xmax: coordinate('xmax'),
    ymax: coordinate('ymax'),
    difficult: flag('difficult'),
    truncated: flag('truncated'),
  };
}

/** The element's first direct child of that name (a VOC object's parts have names and boxes of their own). */
function child(element: Element, name: string): Element | undefined {
  return element.children.find((c) => c.name === name);
}

/** The document's root element with its children and their text; faults and declarations refused through DataFileError. */
function parseXml(path: string, bytes: Uint8Array): Element {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw dataFault(path, 'is not UTF-8 text');
  }
  const parser = new SaxesParser({ position: true });
  const stack: Element[] = [];
  let root: Element | undefined;
  parser.on('doctype', () => {
    throw dataFault(path, 'has a document type declaration (<!DOCTYPE …>); XML with a DOCTYPE or entities is refused, never expanded');
  });
  parser.on('error', (error) => {
    const entity = /undefined entity/.test(error.message) ? ' (XML with entities is refused, never expanded)' : '';
    throw dataFault(path, `is not well-formed XML: ${quoted(error.message).slice(1, -1)}${entity}`);
  });
  parser.on('opentag', (tag) => {
    const element: Element = { name: tag.name, children: [], text: '' };
    stack.at(-1)?.children.push(element);
    root ??= element;
    stack.push(element);
  });
  parser.on('text', (t) => {
    const open = stack.at(-1);
    if (open) open.text += t;
  });
  parser.on('closetag', () => stack.pop());
  parser.write(text).close();
  if (root === undefined) throw dataFault(path, 'holds no XML element');
  return root;
}
