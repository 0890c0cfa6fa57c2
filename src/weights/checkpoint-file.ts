/**
 * A checkpoint file as the importer takes it, whatever its format: safetensors, or `torch.save`'s zip archive or
 * legacy stream (`.pth`, `.pt`, `.bin` alike). The format is told from the file's first bytes, not its name.
 */
import type { AnalyzedGraph } from '../ir/analyze.js';
import { renameKey, type ImportOptions } from './convert.js';
import { weightSlots } from './mapping.js';
import { readSafetensors, WeightFileError, type SafetensorsFile } from './safetensors.js';
import { chooseStateDict, ddpPrefixRemover, stateDictFile, type StateDictOptions } from './state-dict.js';
import { looksLikeLegacyTorch, readTorchLegacy, readTorchZip } from './torch-file.js';
import { ZIP_MAGIC } from './zip.js';

type CheckpointFormat = 'safetensors' | 'torch.save zip' | 'torch.save legacy';

/** The format the bytes are in, or undefined when they are none netspec reads. */
function checkpointFormat(bytes: Uint8Array): CheckpointFormat | undefined {
  if (ZIP_MAGIC.every((byte, i) => bytes[i] === byte)) return 'torch.save zip';
  if (looksLikeLegacyTorch(bytes)) return 'torch.save legacy';
  // safetensors: an 8-byte header length, then a JSON object that fits in the file.
  if (bytes.length >= 10 && bytes[8] === 0x7b) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, 8);
    if (view.getUint32(0, true) + view.getUint32(4, true) * 2 ** 32 <= bytes.length - 8) return 'safetensors';
  }
  return undefined;
}

/** A tar archive: torch.save's format before PyTorch 0.4, told by the "ustar" mark of its first header. */
const isTar = (bytes: Uint8Array) => new TextDecoder('latin1').decode(bytes.subarray(257, 262)) === 'ustar';

function unknownFormat(bytes: Uint8Array): string {
  if (isTar(bytes)) return "is a tar archive, torch.save's format before PyTorch 0.4, which is not read; load it and save it again with a recent PyTorch";
  const start = [...bytes.subarray(0, 8)].map((byte) => byte.toString(16).padStart(2, '0')).join(' ');
  return `is neither a safetensors file nor a torch.save checkpoint (a zip archive or a legacy pickle): it starts with the bytes ${start || '(none: it is empty)'}`;
}

/** Reads a checkpoint in any format netspec knows; throws WeightFileError listing what is wrong. */
export function readCheckpoint(file: string, given: Uint8Array, options: StateDictOptions = {}): SafetensorsFile {
  // A plain view: a Node Buffer's slice() would not copy where the readers copy to align.
  const bytes = new Uint8Array(given.buffer, given.byteOffset, given.byteLength);
  const format = checkpointFormat(bytes);
  if (format === undefined) throw new WeightFileError(file, [unknownFormat(bytes)]);
  if (format === 'safetensors') {
    if (options.key !== undefined)
      throw new WeightFileError(file, [`--key ${options.key}: a safetensors file holds one state dict; --key chooses among those of a torch.save checkpoint`]);
    const { tensors, others, metadata } = readSafetensors(file, bytes);
    const rename = ddpPrefixRemover([...tensors.keys(), ...others.keys()]);
    return {
      tensors: new Map([...tensors].map(([name, tensor]) => [rename(name), tensor])),
      others: new Map([...others].map(([name, dtype]) => [rename(name), dtype])),
      metadata,
    };
  }
  const contents = format === 'torch.save zip' ? readTorchZip(file, bytes) : readTorchLegacy(file, bytes);
  const chosen = chooseStateDict(contents.root, options);
  if (typeof chosen === 'string') throw new WeightFileError(file, [chosen]);
  const read = stateDictFile(chosen, contents);
  if (Array.isArray(read)) throw new WeightFileError(file, read);
  return read;
}

/** Whether a state dict holds every tensor of the model, with its shape, once `--rename` has renamed it. */
export function fitsModel(graph: AnalyzedGraph, renames: ImportOptions['renames']): NonNullable<StateDictOptions['fits']> {
  const slots = weightSlots(graph);
  return (shapes) => {
    const renamed = new Map([...shapes].map(([name, shape]) => [renameKey(name, renames), shape]));
    return slots.every((slot) => renamed.get(slot.torchName)?.join() === slot.torchShape.join());
  };
}
