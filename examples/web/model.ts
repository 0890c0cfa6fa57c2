// Which compiled model the app runs. Any module that `netspec compile` wrote will do: change the import, and import
// that model's weights into public/weights/<its name>/ (or point ?weights= or VITE_NETSPEC_WEIGHTS at them).
import * as compiled from '../../generated/imagenet/resnet18.ts';
import imagenetClasses from '../../data/imagenet-classes.json';

export const model = compiled;

/**
 * The class names for `count` outputs: those a weights folder saved (netspec train writes them), else ImageNet's
 * for a 1000-class model, else "class N".
 */
export function classNames(count: number, saved?: readonly string[]): readonly string[] {
  if (saved) return saved;
  if (count === imagenetClasses.length) return imagenetClasses;
  return Array.from({ length: count }, (_, i) => `class ${i}`);
}
