// The page script of browser-image.test.ts: the same PNG and JPEG as every kind of page image, through
// pageImagePixels and preprocess on tfjs' cpu backend, left in `globalThis.__result` for the test.
import * as tf from '@tensorflow/tfjs';
import { pageImagePixels, preprocess, type PageImage } from 'netspec/runtime';

declare const document: {
  createElement(tag: 'img'): { src: string; decode(): Promise<void> } & PageImage;
  createElement(tag: 'canvas'): {
    width: number;
    height: number;
    getContext(kind: '2d'): { drawImage(image: unknown, x: number, y: number): void; getImageData(x: number, y: number, w: number, h: number): PageImage };
  };
};
declare function createImageBitmap(blob: unknown): Promise<PageImage>;
declare const OffscreenCanvas: new (w: number, h: number) => PageImage & { getContext(kind: '2d'): { drawImage(image: unknown, x: number, y: number): void } };

/** What the test compares: each kind of source's preprocessed tensor, flat. */
export type ImageResult = Record<string, number[]>;

const OPTIONS = { crop: 24, resize: 28 };

async function sources(url: string): Promise<Record<string, PageImage>> {
  const img = document.createElement('img');
  img.src = url;
  await img.decode();
  const bitmap = await createImageBitmap(await (await fetch(url)).blob());
  const canvas = document.createElement('canvas');
  [canvas.width, canvas.height] = [(img as { naturalWidth: number }).naturalWidth, (img as { naturalHeight: number }).naturalHeight];
  const context = canvas.getContext('2d');
  context.drawImage(img, 0, 0);
  const offscreen = new OffscreenCanvas(canvas.width, canvas.height);
  offscreen.getContext('2d').drawImage(img, 0, 0);
  return { img, bitmap, canvas: canvas as unknown as PageImage, offscreen, imageData: context.getImageData(0, 0, canvas.width, canvas.height) };
}

async function run(): Promise<ImageResult> {
  await tf.setBackend('cpu');
  const result: ImageResult = {};
  for (const file of ['picture.png', 'picture.jpg']) {
    for (const [kind, source] of Object.entries(await sources(file))) {
      const tensor = preprocess(pageImagePixels(source), OPTIONS);
      result[`${file} ${kind}`] = Array.from(await tensor.data());
      tensor.dispose();
    }
  }
  return result;
}

(globalThis as { __result?: Promise<ImageResult> }).__result = run();
